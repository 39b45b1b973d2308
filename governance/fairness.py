"""Fairness across the groups of each sensitive attribute, with fairlearn.

A positive prediction is a decline (predicted default at or above the decision
threshold). For each sensitive column (``schema.sensitive``) we report the largest gap
between its groups in the share declined (demographic parity difference) and in the
true- and false-positive rates (equalized odds difference, the worse of the two), plus
each group's own rates. The policy bounds the largest gap over all sensitive columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)


def assess(y_true: np.ndarray, probability: np.ndarray, sensitive: pd.DataFrame, threshold: float) -> dict[str, Any]:
    """Fairness gaps and per-group rates for every column of ``sensitive`` (rows aligned with ``y_true``)."""
    if sensitive.shape[1] == 0:
        raise ValueError("no sensitive attribute to assess: schema.sensitive is empty")
    y = np.asarray(y_true).astype(int)
    declined = (np.asarray(probability) >= threshold).astype(int)
    attributes: dict[str, Any] = {}
    for column in sensitive.columns:
        groups = sensitive[column].astype("string").fillna("missing").to_numpy()
        frame = MetricFrame(
            metrics={
                "decline_rate": selection_rate,
                "true_positive_rate": true_positive_rate,
                "false_positive_rate": false_positive_rate,
                "default_rate": lambda t, p: float(np.mean(t)),
            },
            y_true=y,
            y_pred=declined,
            sensitive_features=groups,
        )
        counts = pd.Series(groups).value_counts()
        attributes[str(column)] = {
            "demographic_parity_difference": float(
                demographic_parity_difference(y, declined, sensitive_features=groups)
            ),
            "equalized_odds_difference": float(equalized_odds_difference(y, declined, sensitive_features=groups)),
            "groups": {
                str(group): {"rows": int(counts[group]), **{k: float(v) for k, v in row.items()}}
                for group, row in frame.by_group.iterrows()
            },
        }
    return {
        "threshold": threshold,
        "rows": len(y),
        "demographic_parity_difference": max(a["demographic_parity_difference"] for a in attributes.values()),
        "equalized_odds_difference": max(a["equalized_odds_difference"] for a in attributes.values()),
        "attributes": attributes,
    }
