"""The canary's quality probe on a real prediction log, real label files and real registered models.

Sticky routing gives each model its own customers; the probe pairs them anyway, by
scoring every labelled row with the model that did not answer it (offline, from the
logged features), or with the shadow score when the canary runs in shadow mode.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core import registry
from core.settings import Settings
from features import store
from features.engineering import FeatureColumns, features_of
from monitoring.canary_quality import compare, offline_scorer
from monitoring.windows import REQUEST_ID, labels_path
from serving.models import load_version
from serving.prediction_log import PredictionLog, clean_features
from tests.serving.conftest import prepare_workspace, register_model

pytestmark = pytest.mark.e2e
SINCE = "2000-01-01"


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, pd.DataFrame, str, str, str]:
    """A champion, an equally good challenger and a much worse one (it reads two columns only)."""
    settings, frame = prepare_workspace(tmp_path_factory.mktemp("canary-quality"))
    champion = register_model(settings, frame, registry.CHAMPION)
    equal = register_model(settings, frame, registry.CHALLENGER)
    weak = FeatureColumns(store.model_feature_columns(settings).numeric[:2], ())
    worse = register_model(settings, frame, registry.CHALLENGER, columns=weak)
    return settings, frame, champion, equal, worse


def serve(
    settings: Settings, rows: pd.DataFrame, answered_by: list[str], prefix: str, shadow: str | None = None
) -> None:
    """Log each row as the service does (features, the answering model's score) and deliver its label."""
    champion = registry.alias_version(settings, registry.CHAMPION)
    logged_columns = store.model_feature_columns(settings).all  # what the service logs: the features it looked up
    log = PredictionLog(settings.predictions_dir)
    models = {v: load_version(settings, v) for v in {*answered_by, *([shadow] if shadow else [])}}
    for i, (version, (_, row)) in enumerate(zip(answered_by, rows.iterrows(), strict=True)):
        one = rows.iloc[[i]]
        entry = {
            "request_id": f"{prefix}{i}",
            "variant": "champion" if version == champion else "challenger",
            "model_version": version,
            "probability": float(models[version].model.predict_proba(features_of(one, models[version].columns))[0, 1]),
            "features": clean_features({c: row[c] for c in logged_columns}),
        }
        if shadow:
            entry["shadow_version"] = shadow
            entry["shadow_probability"] = float(
                models[shadow].model.predict_proba(features_of(one, models[shadow].columns))[0, 1]
            )
        log.append(entry)
    log.close()
    path = labels_path(settings, prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    label = settings.schema_.label
    pd.DataFrame({REQUEST_ID: [f"{prefix}{i}" for i in range(len(rows))], label: rows[label]}).to_parquet(path)


def test_the_probe_pairs_the_variants_and_waits_for_enough_labels(
    registered: tuple[Settings, pd.DataFrame, str, str, str],
) -> None:
    settings, frame, champion, _, worse = registered
    rows = frame.tail(700).reset_index(drop=True)
    score = offline_scorer(settings)
    half = [champion if i % 2 else worse for i in range(len(rows))]
    serve(settings, rows.head(150), half[:150], "early")
    assert compare(settings, champion, worse, SINCE, 200, 0.99, score) is None  # 150 labelled rows: too few

    serve(settings, rows.iloc[150:], half[150:], "late")
    comparison = compare(settings, champion, worse, SINCE, 200, 0.99, score)
    assert comparison is not None and comparison.labelled == 700 and comparison.pairing == "offline"
    assert comparison.degradation.low > 0.03  # surely worse: the canary would fail it
    assert comparison.champion_roc_auc > comparison.challenger_roc_auc
    assert compare(settings, champion, worse, "2999-01-01", 200, 0.99, score) is None  # only since the canary


def test_in_shadow_mode_the_logged_shadow_scores_pair_the_rows(
    registered: tuple[Settings, pd.DataFrame, str, str, str], tmp_path: Path
) -> None:
    settings, frame, champion, equal, _ = registered
    settings = settings.overridden({"data.dir": str(tmp_path / "data")})  # a log of its own
    rows = frame.tail(600).reset_index(drop=True)
    serve(settings, rows, [champion] * len(rows), "shadow", shadow=equal)
    comparison = compare(settings, champion, equal, SINCE, 200, 0.99, offline_scorer(settings))
    assert comparison is not None and comparison.pairing == "shadow"
    assert comparison.degradation.judge(0.03) == "fine"  # the same model twice: surely within the allowance
