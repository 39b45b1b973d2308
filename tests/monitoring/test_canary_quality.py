"""The canary's quality probe: each variant's labelled predictions, read from a real
prediction log and label files as the service and the simulator write them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.settings import Settings, load_settings
from monitoring.canary_quality import compare
from monitoring.windows import REQUEST_ID, labels_path
from serving.prediction_log import PredictionLog
from tests.conftest import write_params

pytestmark = pytest.mark.unit


def workspace(folder: Path) -> Settings:
    return load_settings(write_params(folder), environ={})


def serve(settings: Settings, variant: str, version: str, labels: np.ndarray, skill: float, prefix: str) -> None:
    """Log one prediction per label: scores that rank the labels with the given skill."""
    rng = np.random.default_rng(len(prefix))
    log = PredictionLog(settings.predictions_dir)
    scores = 1 / (1 + np.exp(-(skill * (labels - 0.5) * 4 + rng.normal(0, 1, len(labels)))))
    for i, score in enumerate(scores):
        log.append({"request_id": f"{prefix}{i}", "variant": variant, "model_version": version, "probability": score})
    path = labels_path(settings, prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({REQUEST_ID: [f"{prefix}{i}" for i in range(len(labels))], "is_default": labels}).to_parquet(path)


def test_a_worse_challenger_shows_only_once_enough_labels_arrive(tmp_path: Path) -> None:
    settings = workspace(tmp_path)
    labels = (np.random.default_rng(1).random(400) < 0.2).astype(int)
    serve(settings, "champion", "1", labels, skill=1.0, prefix="a")
    serve(settings, "challenger", "2", labels[:150], skill=0.1, prefix="b")
    assert compare(settings, "2", "2000-01-01", min_labelled=200) is None  # 150 challenger labels: too few
    serve(settings, "challenger", "2", labels[150:], skill=0.1, prefix="c")
    comparison = compare(settings, "2", "2000-01-01", min_labelled=200)
    assert comparison is not None and comparison.challenger_labelled == 400
    assert comparison.champion_roc_auc > 0.75 and comparison.degradation > 0.1
    assert compare(settings, "3", "2000-01-01", min_labelled=200) is None  # another version's canary sees none
    assert compare(settings, "2", "2999-01-01", min_labelled=200) is None  # only rows since the canary began
