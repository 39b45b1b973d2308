"""Fairness across the groups of each sensitive attribute, with fairlearn.

A positive prediction is a score at or above the decision threshold (for the demo
lender, a decline). For each sensitive column (``schema.sensitive``) we report the
largest gap between its groups in the share predicted positive (demographic parity
difference) and in the true- and false-positive rates (equalized odds difference, the
worse of the two), plus each group's own rates. The policy bounds the largest gap over
all sensitive columns.

Groups are judged only when they are large enough to say something: a group with fewer
than ``min_group_rows`` holdout rows is reported with its rates but left out of the
gaps (a group of one has a rate of 0 or 1, and would make any model fail). A sensitive
attribute that is a number (a year of birth, say) is judged in bands: the edges the contract
declares (``schema.sensitive_bands``), or quantile bands (``schema.sensitive_quantiles``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

MAX_CATEGORIES = 20  # a numeric attribute with more distinct values than this is banded


def groups_of(values: pd.Series, edges: Sequence[float] | None, quantiles: int) -> tuple[np.ndarray, str]:
    """Each row's group name, and how the groups were formed."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and (edges is not None or values.nunique() > MAX_CATEGORIES):
        if edges is None:
            cut = pd.qcut(values, q=quantiles, duplicates="drop")
            how = f"{quantiles} quantile bands"
        else:
            cut = pd.cut(values, bins=list(edges), right=False, include_lowest=True)
            how = f"bands {list(edges)}"
        names = cut.map(lambda band: f"[{band.left:g}, {band.right:g})").astype("string")
        return names.fillna("missing").to_numpy(), how
    return values.astype("string").fillna("missing").to_numpy(), "by value"


def _gaps(y: np.ndarray, declined: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    return (
        float(demographic_parity_difference(y, declined, sensitive_features=groups)),
        float(equalized_odds_difference(y, declined, sensitive_features=groups)),
    )


def assess(
    y_true: np.ndarray,
    probability: np.ndarray,
    sensitive: pd.DataFrame,
    threshold: float,
    *,
    bands: Mapping[str, Sequence[float]] | None = None,
    quantiles: int = 4,
    min_group_rows: int = 1,
) -> dict[str, Any]:
    """Fairness gaps and per-group rates for every column of ``sensitive`` (rows aligned with ``y_true``).

    A gap is None when fewer than two groups of the attribute have ``min_group_rows`` rows.
    """
    if sensitive.shape[1] == 0:
        raise ValueError("no sensitive attribute to assess: schema.sensitive is empty")
    y = np.asarray(y_true).astype(int)
    declined = (np.asarray(probability) >= threshold).astype(int)
    attributes: dict[str, Any] = {}
    for column in sensitive.columns:
        groups, how = groups_of(sensitive[column].reset_index(drop=True), (bands or {}).get(str(column)), quantiles)
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
        judged = [g for g in counts.index if counts[g] >= min_group_rows]
        inside = np.isin(groups, judged)
        parity, odds = _gaps(y[inside], declined[inside], groups[inside]) if len(judged) >= 2 else (None, None)
        attributes[str(column)] = {
            "grouped": how,
            "demographic_parity_difference": parity,
            "equalized_odds_difference": odds,
            "groups": {
                str(group): {
                    "rows": int(counts[group]),
                    "judged": bool(counts[group] >= min_group_rows),
                    **{k: float(v) for k, v in row.items()},
                }
                for group, row in frame.by_group.iterrows()
            },
        }
    return {
        "threshold": threshold,
        "rows": len(y),
        "min_group_rows": min_group_rows,
        "demographic_parity_difference": _largest(a["demographic_parity_difference"] for a in attributes.values()),
        "equalized_odds_difference": _largest(a["equalized_odds_difference"] for a in attributes.values()),
        "attributes": attributes,
    }


def _largest(values: Any) -> float | None:
    judged = [v for v in values if v is not None]
    return max(judged) if judged else None


def not_judged(result: Mapping[str, Any]) -> str:
    """Why some attributes or groups were not judged, for the policy's refusal and the card."""
    notes = []
    for name, attribute in result["attributes"].items():
        small = [g for g, v in attribute["groups"].items() if not v["judged"]]
        if attribute["demographic_parity_difference"] is None:
            notes.append(f"{name}: fewer than two groups of at least {result['min_group_rows']} rows")
        elif small:
            notes.append(f"{name}: {len(small)} group(s) under {result['min_group_rows']} rows reported, not judged")
    return "; ".join(notes)
