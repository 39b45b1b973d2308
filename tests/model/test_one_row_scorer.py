"""The serving fast path scores one row exactly as the whole pipeline does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.settings import load_settings
from core.synthetic import LenderConfig, generate_week
from features.engineering import FeatureColumns, features_of
from pipelines.training import fit_and_score, time_split
from serving.runtime import LoadedModel, OneRowScorer


@pytest.mark.parametrize(
    ("family", "params"), [("logistic_regression", {"max_iter": 1000}), ("gradient_boosting", {"max_iter": 50})]
)
def test_one_row_scores_match_the_pipeline_missing_values_included(family: str, params: dict[str, object]) -> None:
    settings = load_settings(environ={})
    frame = pd.concat([generate_week(LenderConfig(applications_per_week=500, customers=800), w) for w in range(1, 5)])
    columns = FeatureColumns.from_schema(settings.schema_)
    trained = fit_and_score(
        time_split(frame, settings.schema_, 1), settings.schema_, columns, family, params, settings.training
    )
    rows = features_of(trained.split.holdout, columns).head(150)
    assert rows.isna().any(axis=None)  # the data leaves some fields empty: the imputers must see them
    scorer = OneRowScorer.for_model(trained.model)
    assert scorer is not None
    loaded = LoadedModel("1", trained.model, columns, scorer)
    fast = np.array([loaded.risk(rows.iloc[[i]]) for i in range(len(rows))])
    np.testing.assert_allclose(fast, trained.model.predict_proba(rows)[:, 1], rtol=0, atol=1e-12)


def test_anything_but_our_pipeline_gets_no_fast_path() -> None:
    from sklearn.linear_model import LogisticRegression

    assert OneRowScorer.for_model(LogisticRegression()) is None
