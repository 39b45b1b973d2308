"""Explanations that add up to the model's answer, and fairness gaps that match a hand count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.settings import Settings
from core.synthetic import LenderConfig, generate_week
from features.engineering import FeatureColumns, features_of
from governance import explain, fairness
from pipelines.steps.training import TrainedModel, fit_and_score, time_split

pytestmark = pytest.mark.model

FAMILIES = {"logistic_regression": {"max_iter": 1000}, "gradient_boosting": {"max_iter": 30}}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    config = LenderConfig(applications_per_week=500, customers=1500)
    return pd.concat([generate_week(config, w) for w in range(1, 6)], ignore_index=True)


def _train(settings: Settings, frame: pd.DataFrame, family: str) -> TrainedModel:
    columns = FeatureColumns.from_schema(settings.schema_)
    split = time_split(frame, settings.schema_, settings.training.holdout_weeks)
    return fit_and_score(split, settings.schema_, columns, family, FAMILIES[family], settings.training)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_contributions_add_up_to_the_models_log_odds(settings: Settings, frame: pd.DataFrame, family: str) -> None:
    trained = _train(settings, frame, family)
    explainer = explain.LocalExplainer(trained.model, trained.columns)
    for i in range(5):
        row = trained.split.holdout.iloc[[i]]
        explained = explainer.explain(row)
        probability = trained.model.predict_proba(features_of(row, trained.columns))[0, 1]
        total = explained.base_value + sum(c.contribution for c in explained.contributions)
        assert total == pytest.approx(np.log(probability / (1 - probability)), abs=1e-4)
        # One contribution per input column: one-hot groups are summed back to their column.
        assert sorted(c.feature for c in explained.contributions) == sorted(trained.columns.all)
        sizes = [abs(c.contribution) for c in explained.contributions]
        assert sizes == sorted(sizes, reverse=True)
        region = next(c for c in explained.contributions if c.feature == "region")
        assert region.value == row["region"].iloc[0]


def test_global_importance_ranks_the_strongest_column_first(settings: Settings, frame: pd.DataFrame) -> None:
    trained = _train(settings, frame, "logistic_regression")
    ranked = explain.global_importance(trained.model, trained.columns, trained.split.holdout, "is_default", seed=1)
    assert {i.feature for i in ranked} == set(trained.columns.all)
    assert ranked[0].feature in {"credit_utilization", "monthly_debt", "num_late_payments_12m", "annual_income"}
    png = explain.importance_png(ranked, "test")
    assert png.startswith(b"\x89PNG")


def test_fairness_gaps_match_a_hand_count() -> None:
    # Group a: 10 rows, 4 declined (2 of 5 defaulters, 2 of 5 others); group b: 10 rows, 1 declined (a defaulter).
    y = np.array([1] * 5 + [0] * 5 + [1] * 5 + [0] * 5)
    declined = np.array([1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    groups = pd.DataFrame({"gender": ["a"] * 10 + ["b"] * 10})
    result = fairness.assess(y, declined.astype(float), groups, threshold=0.5)
    assert result["demographic_parity_difference"] == pytest.approx(0.4 - 0.1)
    # TPR: a 2/5, b 1/5 (gap 0.2); FPR: a 2/5, b 0/5 (gap 0.4): the worse one.
    assert result["equalized_odds_difference"] == pytest.approx(0.4)
    by_group = result["attributes"]["gender"]["groups"]
    assert by_group["a"]["rows"] == 10 and by_group["a"]["decline_rate"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="no sensitive attribute"):
        fairness.assess(y, declined.astype(float), groups[[]], threshold=0.5)


def test_a_numeric_sensitive_attribute_is_judged_in_bands_not_per_value(frame: pd.DataFrame) -> None:
    """Issue 15: with age sensitive, every distinct age was a group of one and the parity gap was 1.0."""
    rng = np.random.default_rng(0)
    probability = rng.uniform(0, 1, len(frame))
    result = fairness.assess(frame["is_default"].to_numpy(), probability, frame[["age"]], 0.5)
    age = result["attributes"]["age"]
    assert len(age["groups"]) == 4 and age["grouped"] == "4 quantile bands"  # the default: quartiles
    assert result["demographic_parity_difference"] < 0.1  # a random score treats the bands alike
    declared = fairness.assess(
        frame["is_default"].to_numpy(), probability, frame[["age"]], 0.5, bands={"age": [18, 30, 45, 60, 100]}
    )
    assert list(declared["attributes"]["age"]["groups"]) == ["[18, 30)", "[30, 45)", "[45, 60)", "[60, 100)"]


def test_groups_below_the_minimum_size_are_reported_not_judged() -> None:
    y = np.array([0, 1] * 50 + [1])
    probability = np.array([0.2, 0.8] * 50 + [0.1])  # the lone row of group c is "unfairly" missed
    groups = pd.DataFrame({"site": ["a"] * 50 + ["b"] * 50 + ["c"]})
    judged = fairness.assess(y, probability, groups, 0.5, min_group_rows=30)
    site = judged["attributes"]["site"]
    assert site["groups"]["c"] == pytest.approx({**site["groups"]["c"], "rows": 1, "judged": False})
    assert judged["equalized_odds_difference"] == 0.0  # a and b are treated alike; c is only reported
    assert fairness.assess(y, probability, groups, 0.5)["equalized_odds_difference"] == 1.0  # c judged: gap 1
    alone = fairness.assess(y, probability, groups, 0.5, min_group_rows=60)
    assert alone["demographic_parity_difference"] is None and "fewer than two groups" in fairness.not_judged(alone)
