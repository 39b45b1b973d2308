"""Model quality during a canary: both models' ROC AUC on the same labelled rows, and how sure the difference is.

The canary controller (serving/controller.py) asks this at every analysis interval.
Labels arrive late in lending, so in most real canaries this stays silent and the
canary is judged on errors and latency; when labels do arrive in time (the simulator
delivers each week's labels when its traffic ends), the two models are compared.

The comparison is **paired**: every labelled row logged since the canary began is
scored by both models. The model that answered it logged its score; the other one's
comes from the shadow score when the canary runs in shadow mode, or else from scoring
the logged features offline, which costs milliseconds. Two AUCs over different
customers (sticky routing gives each model its own) differ by about the allowed
degradation by chance alone at a few hundred rows; on the same rows the difference is
several times more precise, and the bootstrap interval says how precise
(serving/significance.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from core.settings import Settings
from features.engineering import features_of
from monitoring.reference import PREDICTION
from monitoring.windows import LOGGED_AT, load_labels, load_predictions, with_labels
from serving.analysis import QualityComparison
from serving.canary import load_canary_config
from serving.models import LoadedModel, load_version
from serving.significance import paired_auc_difference

Scorer = Callable[[str, pd.DataFrame], np.ndarray]


def offline_scorer(settings: Settings) -> Scorer:
    """Scores logged rows with a registry version, loading each version once."""
    loaded: dict[str, LoadedModel] = {}

    def score(version: str, rows: pd.DataFrame) -> np.ndarray:
        if version not in loaded:
            loaded[version] = load_version(settings, version)
        model = loaded[version]
        return np.asarray(model.model.predict_proba(features_of(rows, model.columns))[:, 1])

    return score


def compare(
    settings: Settings,
    champion: str,
    challenger: str,
    since: str,
    min_labelled: int,
    confidence: float,
    score: Scorer,
) -> QualityComparison | None:
    """Both versions' ROC AUC on the labelled rows logged since ``since``, paired; None while too few."""
    predictions = load_predictions(settings)
    if predictions.empty:
        return None
    label = settings.schema_.label
    recent = predictions[predictions[LOGGED_AT] >= since]
    served = recent["model_version"].astype(str)
    labelled = with_labels(recent[served.isin({champion, challenger})], load_labels(settings), label)
    if len(labelled) < min_labelled or labelled[label].nunique() < 2:
        return None  # ROC AUC needs both outcomes, and a verdict needs rows
    version = labelled["model_version"].astype(str).to_numpy()
    logged = labelled[PREDICTION].astype(float).to_numpy()
    shadow = labelled["shadow_version"].astype(str) == challenger if "shadow_version" in labelled else None
    if shadow is not None and bool(shadow.all()):
        pairing = "shadow"
        champion_scores, challenger_scores = logged, labelled["shadow_probability"].astype(float).to_numpy()
    else:
        pairing = "offline"
        champion_scores = np.where(version == champion, logged, np.nan)
        challenger_scores = np.where(version == challenger, logged, np.nan)
        by_challenger, by_champion = version == challenger, version == champion
        if by_challenger.any():  # the champion scores the rows the challenger answered...
            champion_scores[by_challenger] = score(champion, labelled[by_challenger])
        if by_champion.any():  # ...and the challenger the rows the champion answered
            challenger_scores[by_champion] = score(challenger, labelled[by_champion])
    y = labelled[label].astype(int).to_numpy()
    interval = paired_auc_difference(y, champion_scores, challenger_scores, confidence)
    return QualityComparison(_auc(y, champion_scores), _auc(y, challenger_scores), len(labelled), interval, pairing)


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def quality_probe(settings: Settings) -> Callable[[str, str], QualityComparison | None]:
    """The probe ``run_canary`` calls, with ``serving/canary.yaml``'s minimum of labelled rows and confidence."""
    from core import registry

    metrics = load_canary_config().metrics
    score = offline_scorer(settings)

    def probe(challenger: str, since: str) -> QualityComparison | None:
        champion = registry.alias_version(settings, registry.CHAMPION)
        if champion is None:
            return None
        return compare(settings, champion, challenger, since, metrics.min_labelled, metrics.confidence, score)

    return probe
