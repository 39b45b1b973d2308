import numpy as np
import pandas as pd
import pytest

from core.settings import Settings, load_settings
from core.synthetic import LenderConfig, generate_week
from features.engineering import FeatureColumns, features_of
from pipelines.steps.training import evaluate, time_split, train_and_evaluate

pytestmark = pytest.mark.unit

CONFIG = LenderConfig(applications_per_week=500, customers=1500)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.concat([generate_week(CONFIG, w) for w in range(1, 7)], ignore_index=True)


def test_the_holdout_is_the_latest_weeks_and_never_overlaps(frame: pd.DataFrame) -> None:
    schema = load_settings().schema_
    split = time_split(frame, schema, holdout_weeks=2)
    assert split.train["event_timestamp"].max() < split.holdout["event_timestamp"].min()
    assert split.holdout_start == pd.Timestamp("2026-01-05", tz="UTC") + pd.Timedelta(weeks=4)
    assert len(split.train) + len(split.holdout) == len(frame)


def test_a_split_that_leaves_nothing_to_train_on_is_refused(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="holdout_weeks"):
        time_split(frame, load_settings().schema_, holdout_weeks=6)


@pytest.mark.parametrize("family", ["logistic_regression", "gradient_boosting"])
def test_training_learns_and_reports_every_metric(frame: pd.DataFrame, family: str, settings: Settings) -> None:
    training = settings.training.model_copy(update={"model": family})
    trained = train_and_evaluate(frame, settings.schema_, FeatureColumns.from_schema(settings.schema_), training)
    assert {"roc_auc", "pr_auc", "f1", "log_loss", "brier"} <= set(trained.metrics)
    assert trained.metrics["roc_auc"] > 0.7
    assert trained.metrics["pr_auc"] > trained.metrics["default_rate"]  # better than the base rate
    proba = trained.model.predict_proba(features_of(trained.split.holdout, trained.columns))[:, 1]
    assert ((proba > 0) & (proba < 1)).all()


def test_the_model_accepts_missing_values_and_unseen_categories(frame: pd.DataFrame, settings: Settings) -> None:
    trained = train_and_evaluate(
        frame, settings.schema_, FeatureColumns.from_schema(settings.schema_), settings.training
    )
    odd = features_of(frame.head(3), trained.columns).copy()
    odd.loc[:, "annual_income"] = np.nan
    odd.loc[:, "region"] = "a-new-region"
    assert np.isfinite(trained.model.predict_proba(odd)).all()


def test_metrics_match_hand_computed_values() -> None:
    y = np.array([0, 0, 1, 1])
    proba = np.array([0.1, 0.4, 0.35, 0.8])
    metrics = evaluate(y, proba, threshold=0.5)
    assert metrics["roc_auc"] == pytest.approx(0.75)
    assert metrics["brier"] == pytest.approx(np.mean((proba - y) ** 2))
    assert metrics["f1"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="one class"):
        evaluate(np.zeros(4), proba, 0.5)
