"""What may be logged: the skops allow-list is fixed in code, and a model holding anything else is refused."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from core.settings import Settings
from core.synthetic import LenderConfig, generate_week
from features.engineering import FeatureColumns
from pipelines.steps import tracking
from pipelines.steps.training import fit_and_score, time_split

pytestmark = pytest.mark.unit


class Doubler(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """A step nobody put on the allow-list."""

    def fit(self, x: Any, y: Any = None) -> Doubler:
        return self

    def transform(self, x: Any) -> Any:
        return np.asarray(x) * 2


@pytest.fixture(scope="module")
def weeks() -> pd.DataFrame:
    config = LenderConfig(applications_per_week=300, customers=400)
    return pd.concat([generate_week(config, week) for week in (1, 2, 3)], ignore_index=True)


def test_a_model_with_an_unreviewed_type_is_refused_naming_it(settings: Settings, weeks: pd.DataFrame) -> None:
    columns = FeatureColumns.from_schema(settings.schema_).numeric[:2]
    model = Pipeline([("double", Doubler()), ("classifier", LogisticRegression())])
    model.fit(weeks[list(columns)].fillna(0), weeks[settings.schema_.label])
    with pytest.raises(tracking.UntrustedModelType, match=r"test_tracking\.Doubler"):
        tracking.trusted_types(model)


@pytest.mark.parametrize("family", ["logistic_regression", "gradient_boosting"])
def test_the_project_models_need_only_reviewed_types(settings: Settings, weeks: pd.DataFrame, family: str) -> None:
    columns = FeatureColumns.from_schema(settings.schema_)
    split = time_split(weeks, settings.schema_, 1)
    trained = fit_and_score(split, settings.schema_, columns, family, {"max_iter": 50}, settings.training)
    assert set(tracking.trusted_types(trained.model)) <= tracking.TRUSTED_TYPES
