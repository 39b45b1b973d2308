"""Model quality during a canary: each variant's ROC AUC on its own labelled predictions.

The canary controller (serving/controller.py) asks this at every analysis interval.
Labels arrive late in lending, so in most real canaries this stays silent and the
canary is judged on errors and latency; when labels do arrive in time (the simulator
delivers each week's labels when its traffic ends), a challenger that ranks applicants
worse than the champion fails the interval. In shadow mode both scores sit on the same
rows (the champion's answer and the challenger's shadow score), which is the fairest
comparison of all.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sklearn.metrics import roc_auc_score

from core.settings import Settings
from monitoring.reference import PREDICTION
from monitoring.windows import LOGGED_AT, load_labels, load_predictions, with_labels
from serving.analysis import QualityComparison
from serving.canary import load_canary_config


def compare(settings: Settings, version: str, since: str, min_labelled: int) -> QualityComparison | None:
    """The variants' ROC AUC on labelled predictions logged since ``since``, or None if too few."""
    predictions = load_predictions(settings)
    if predictions.empty:
        return None
    recent = predictions[predictions[LOGGED_AT] >= since]
    labelled = with_labels(recent, load_labels(settings), settings.schema_.label)
    label = settings.schema_.label
    shadow = labelled[labelled["shadow_version"].astype(str) == version] if "shadow_version" in labelled else None
    if shadow is not None and len(shadow):
        champion_rows, champion_scores = shadow, shadow[PREDICTION]
        challenger_rows, challenger_scores = shadow, shadow["shadow_probability"]
    else:
        champion_rows = labelled[labelled["variant"] == "champion"]
        challenger_rows = labelled[
            (labelled["variant"] == "challenger") & (labelled["model_version"].astype(str) == version)
        ]
        champion_scores, challenger_scores = champion_rows[PREDICTION], challenger_rows[PREDICTION]
    if min(len(champion_rows), len(challenger_rows)) < min_labelled:
        return None
    if champion_rows[label].nunique() < 2 or challenger_rows[label].nunique() < 2:
        return None  # ROC AUC needs both outcomes
    return QualityComparison(
        _auc(champion_rows[label], champion_scores),
        _auc(challenger_rows[label], challenger_scores),
        len(champion_rows),
        len(challenger_rows),
    )


def _auc(labels: pd.Series, scores: pd.Series) -> float:
    return float(roc_auc_score(labels.astype(int), scores.astype(float)))


def quality_probe(settings: Settings) -> Callable[[str, str], QualityComparison | None]:
    """The probe ``run_canary`` calls, with ``serving/canary.yaml``'s minimum of labelled rows."""
    min_labelled = load_canary_config().metrics.min_labelled
    return lambda version, since: compare(settings, version, since, min_labelled)
