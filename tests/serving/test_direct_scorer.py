"""The serving fast path scores one row, and a batch, exactly as the whole pipeline does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.settings import load_settings
from core.synthetic import LenderConfig, generate_week
from features.engineering import FeatureColumns, features_of
from pipelines.steps.training import fit_and_score, time_split
from serving.models import LoadedModel
from serving.scorer import DirectScorer

pytestmark = pytest.mark.model


@pytest.mark.parametrize(
    ("family", "params"), [("logistic_regression", {"max_iter": 1000}), ("gradient_boosting", {"max_iter": 50})]
)
def test_one_row_and_batch_scores_match_the_pipeline_missing_values_included(
    family: str, params: dict[str, object]
) -> None:
    settings = load_settings(environ={})
    frame = pd.concat([generate_week(LenderConfig(applications_per_week=500, customers=800), w) for w in range(1, 5)])
    columns = FeatureColumns.from_schema(settings.schema_)
    trained = fit_and_score(
        time_split(frame, settings.schema_, 1), settings.schema_, columns, family, params, settings.training
    )
    holdout = trained.split.holdout.head(150).copy()
    # The request schema requires every category, but the scorer must not depend on it.
    holdout.loc[holdout.index[::7], "region"] = np.nan
    holdout.loc[holdout.index[::11], "loan_purpose"] = None
    rows = features_of(holdout, columns)
    assert rows.isna().any(axis=None)  # the data leaves some fields empty: the imputers must see them
    scorer = DirectScorer.for_model(trained.model, columns)
    assert scorer is not None
    loaded = LoadedModel("1", trained.model, columns, scorer)
    # The serving frame carries more than the model reads (ids, raw fields), in its own order.
    served = holdout.iloc[:, ::-1]
    expected = trained.model.predict_proba(rows)[:, 1]
    first = np.array([loaded.risk(served.iloc[[i]]) for i in range(len(served))])
    np.testing.assert_allclose(first, expected, rtol=0, atol=1e-12)
    # The second pass meets remembered category encodings, missing categories included.
    memo = next(part.memo for part in scorer.parts if part.categorical)
    assert 0 < len(memo) < len(rows)
    again = np.array([loaded.risk(served.iloc[[i]]) for i in range(len(served))])
    np.testing.assert_array_equal(again, first)
    # Batches, as the batching thread scores them: rows remembered and rows new to the memo together.
    for part in scorer.parts:
        for key in list(part.memo)[::2]:  # half forgotten: each batch mixes both kinds
            del part.memo[key]
    for start in range(0, len(served), 32):
        batch = served.iloc[start : start + 32]
        np.testing.assert_allclose(loaded.risks(batch), expected[start : start + 32], rtol=0, atol=1e-12)


def test_a_frame_without_a_model_column_is_refused_by_name() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.DataFrame({"income": [1.0, 2.0, 3.0, 4.0], "region": ["a", "b", "a", "b"]})
    model = make_pipeline(
        ColumnTransformer([("n", StandardScaler(), ["income"]), ("c", OneHotEncoder(), ["region"])]),
        LogisticRegression(),
    ).fit(frame, [0, 1, 0, 1])
    scorer = DirectScorer.for_model(model, FeatureColumns(("income",), ("region",)))
    assert scorer is not None
    with pytest.raises(KeyError, match="region"):
        scorer.scores(frame[["income"]].head(2))


def test_anything_but_our_pipeline_gets_no_fast_path() -> None:
    from sklearn.linear_model import LogisticRegression

    assert DirectScorer.for_model(LogisticRegression(), FeatureColumns(("x",), ())) is None
