"""The generator: reproducible, and each scenario shifts what it says it shifts."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

from core.settings import load_settings
from core.synthetic import SHIFTED_COLUMNS, LenderConfig, generate_week
from features.engineering import FeatureColumns, features_of
from pipelines.steps.training import build_model

pytestmark = pytest.mark.data

CONFIG = LenderConfig(applications_per_week=1500, customers=3000)


def weeks(scenario: str, first: int, last: int, config: LenderConfig = CONFIG) -> pd.DataFrame:
    return pd.concat([generate_week(config, w, scenario) for w in range(first, last + 1)], ignore_index=True)


def test_same_seed_same_data_and_weeks_are_independent() -> None:
    pd.testing.assert_frame_equal(generate_week(CONFIG, 3), generate_week(CONFIG, 3))
    alone = generate_week(CONFIG, 5)
    after_others = [generate_week(CONFIG, w) for w in range(1, 6)][-1]
    pd.testing.assert_frame_equal(alone, after_others)


def test_another_seed_gives_other_data() -> None:
    other = LenderConfig(seed=CONFIG.seed + 1, applications_per_week=1500, customers=3000)
    assert not generate_week(CONFIG, 1).equals(generate_week(other, 1))


def test_the_clean_data_is_realistic() -> None:
    frame = weeks("none", 1, 4)
    assert 0.06 < frame["is_default"].mean() < 0.18  # imbalanced, as defaults are
    assert frame["application_id"].is_unique
    assert frame["customer_id"].duplicated().any()  # applicants come back
    assert frame[["years_employed", "credit_history_years"]].isna().any().all()  # forms have gaps
    assert frame["event_timestamp"].dt.tz is not None


def test_the_label_is_learnable_but_not_trivial() -> None:
    schema = load_settings().schema_
    train, test = weeks("none", 1, 6), weeks("none", 7, 8)
    model = build_model(FeatureColumns.from_schema(schema), "logistic_regression", {"max_iter": 500}, seed=0)
    model.fit(features_of(train, FeatureColumns.from_schema(schema)), train["is_default"])
    auc = roc_auc_score(
        test["is_default"], model.predict_proba(features_of(test, FeatureColumns.from_schema(schema)))[:, 1]
    )
    assert 0.72 < auc < 0.95


@pytest.mark.parametrize("column", SHIFTED_COLUMNS["covariate_shift"])
def test_covariate_shift_moves_the_columns_it_names(column: str) -> None:
    clean, shifted = generate_week(CONFIG, 20), generate_week(CONFIG, 20, "covariate_shift")
    if column == "loan_purpose":
        consolidating = [(f[column] == "debt_consolidation").mean() for f in (clean, shifted)]
        assert consolidating[1] > consolidating[0] + 0.1
    else:
        assert ks_2samp(clean[column].dropna(), shifted[column].dropna()).pvalue < 1e-6


def test_covariate_shift_leaves_other_columns_alone() -> None:
    clean, shifted = generate_week(CONFIG, 20), generate_week(CONFIG, 20, "covariate_shift")
    for column in ("age", "num_open_accounts", "credit_history_years"):
        assert ks_2samp(clean[column].dropna(), shifted[column].dropna()).pvalue > 1e-3


def test_concept_drift_keeps_the_inputs_but_breaks_the_relation() -> None:
    schema = load_settings().schema_
    train = weeks("none", 1, 6)
    clean, drifted = weeks("none", 20, 21), weeks("concept_drift", 20, 21)
    for column in ("annual_income", "credit_utilization", "loan_amount"):
        assert ks_2samp(clean[column].dropna(), drifted[column].dropna()).pvalue > 1e-3
    model = build_model(FeatureColumns.from_schema(schema), "logistic_regression", {"max_iter": 500}, seed=0)
    model.fit(features_of(train, FeatureColumns.from_schema(schema)), train["is_default"])

    def auc(frame: pd.DataFrame) -> float:
        return float(
            roc_auc_score(
                frame["is_default"], model.predict_proba(features_of(frame, FeatureColumns.from_schema(schema)))[:, 1]
            )
        )

    assert auc(drifted) < auc(clean) - 0.04


def test_the_quality_incident_breaks_the_columns_it_names() -> None:
    clean, broken = generate_week(CONFIG, 20), generate_week(CONFIG, 20, "quality_incident")
    assert broken["annual_income"].isna().mean() > 0.2 > clean["annual_income"].isna().mean()
    assert broken["credit_utilization"].max() > 1.0 >= clean["credit_utilization"].max()
    assert "unmapped" in set(broken["region"]) - set(clean["region"])


def test_unknown_scenarios_and_weeks_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        generate_week(CONFIG, 1, "meteor")
    with pytest.raises(ValueError, match="week must be 1"):
        generate_week(CONFIG, 0)


def test_gender_reaches_income_but_not_the_default_relation() -> None:
    frame = weeks("none", 1, 6)
    incomes = frame.groupby("gender")["annual_income"].median()
    assert incomes["female"] < incomes["male"]
    rates = frame.groupby("gender")["is_default"].mean()
    assert np.isclose(rates["female"], rates["male"], atol=0.03)


def test_no_customer_applies_twice_at_one_instant_at_any_size() -> None:
    # A million applications a week over a few customers: whole-second stamps collide by the thousand.
    crowded = LenderConfig(applications_per_week=100_000, customers=10)
    week = generate_week(crowded, 2)
    assert not week.duplicated(["customer_id", "event_timestamp"]).any()
    stamps = week["event_timestamp"]
    assert stamps.is_monotonic_increasing and stamps.is_unique
    start = pd.Timestamp(crowded.start_date, tz="UTC") + pd.Timedelta(weeks=1)
    assert stamps.min() >= start and stamps.max() < start + pd.Timedelta(weeks=1)
