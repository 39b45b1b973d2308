"""Real Evidently verdicts on the synthetic lender's weeks, judged by the trigger policy.

A model is trained on eight clean weeks; its holdout week, with its predictions, is the
reference, exactly as training logs it. Then whole weeks are judged as windows: clean
weeks must never fire, a covariate shift must fire and name the columns it shifted, and
a concept drift (labels only) must fire once the labels arrive, on quality. The verdicts
come from Evidently's tests alone (monitoring/decisions.py); the full reports must say
the same, column by column.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from core.settings import Settings, load_settings
from core.synthetic import SHIFTED_COLUMNS, LenderConfig, generate_week
from features.engineering import FeatureColumns, features_of
from monitoring.decisions import judge, quality
from monitoring.policy import MonitorState, judge_drift, judge_quality
from monitoring.reference import PREDICTION
from monitoring.reports import WindowReport, build_drift_report, build_quality_report
from pipelines.steps.training import TrainedModel, fit_and_score, time_split
from tests.conftest import write_params

pytestmark = pytest.mark.data

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
HISTORY = 8
UNRELATED = {"age", "region", "employment_type", "home_ownership", "credit_history_years", "loan_term_months"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, TrainedModel, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("monitoring")
    settings = load_settings(write_params(folder, data={"history_weeks": HISTORY}), environ={})
    config = LenderConfig.from_settings(settings)
    frame = pd.concat([generate_week(config, w) for w in range(1, HISTORY + 1)], ignore_index=True)
    columns = FeatureColumns.from_schema(settings.schema_)
    split = time_split(frame, settings.schema_, holdout_weeks=2)
    trained = fit_and_score(
        split, settings.schema_, columns, "logistic_regression", {"max_iter": 1000}, settings.training
    )
    return settings, trained, scored(trained, split.holdout, settings)


def scored(trained: TrainedModel, rows: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Rows as the prediction log and the reference hold them: features, probability, label."""
    features = features_of(rows, trained.columns)
    label = settings.schema_.label
    return features.assign(**{PREDICTION: trained.model.predict_proba(features)[:, 1], label: rows[label].to_numpy()})


def week(world: tuple[Settings, TrainedModel, pd.DataFrame], number: int, scenario: str) -> pd.DataFrame:
    settings, trained, _ = world
    return scored(trained, generate_week(LenderConfig.from_settings(settings), number, scenario), settings)


def test_clean_weeks_raise_no_alarm(world: tuple[Settings, TrainedModel, pd.DataFrame]) -> None:
    settings, _, reference = world
    state = MonitorState()
    for number in range(HISTORY + 1, HISTORY + 4):
        report = judge(settings, reference, week(world, number, "none"), f"clean-{number}")
        decision, state = judge_drift(report, state, settings.monitoring, NOW)
        assert not report.drifted and not decision.retrain, (report.drift_share, decision.note)
    assert state.consecutive_drifted == 0 and state.last_retrain_at is None


def test_a_covariate_shift_fires_and_names_what_the_scenario_shifted(
    world: tuple[Settings, TrainedModel, pd.DataFrame],
) -> None:
    settings, _, reference = world
    state, decisions = MonitorState(), []
    for number in (HISTORY + 1, HISTORY + 2):
        report = judge(settings, reference, week(world, number, "covariate_shift"), f"shift-{number}")
        decision, state = judge_drift(report, state, settings.monitoring, NOW)
        decisions.append(decision)
    assert [d.retrain for d in decisions] == [False, True]  # two drifted windows in a row (policy: 2)
    drifted = [c.column for c in report.drifted_columns]
    assert set(SHIFTED_COLUMNS["covariate_shift"]) <= set(drifted)
    assert not UNRELATED & set(drifted)
    trigger = decisions[-1].trigger
    assert trigger is not None and trigger.drifted_features[0]["column"] in SHIFTED_COLUMNS["covariate_shift"]
    assert report.prediction is not None  # the predicted probability is judged too


def verdicts(report: WindowReport) -> list[tuple[str, str, float, float, bool]]:
    judged = [*report.columns, *([report.prediction] if report.prediction else [])]
    return [(c.column, c.method, round(c.score, 9), c.threshold, c.drifted) for c in judged]


@pytest.mark.parametrize("scenario", ["none", "covariate_shift", "quality_incident"])
def test_the_verdicts_are_the_full_reports_column_by_column(
    world: tuple[Settings, TrainedModel, pd.DataFrame], scenario: str, tmp_path: Path
) -> None:
    settings, _, reference = world
    current = week(world, HISTORY + 1, scenario)
    decided = judge(settings, reference, current, scenario)
    assert not Path(decided.html).exists()  # deciding renders nothing
    full, _ = build_drift_report(settings, reference, current, scenario)
    assert verdicts(decided) == verdicts(full)
    assert (decided.drift_share, decided.drifted) == (full.drift_share, full.drifted)
    assert decided.html == full.html and Path(full.html).stat().st_size > 100_000 and Path(full.json).exists()


def test_configured_methods_and_thresholds_reach_the_verdicts_as_they_reach_the_report(
    world: tuple[Settings, TrainedModel, pd.DataFrame], tmp_path: Path
) -> None:
    _, trained, reference = world
    drift = {
        "share": 0.3,
        "num_method": "ks",
        "cat_method": "psi",
        "threshold": None,
        "per_feature": {"credit_utilization": {"method": "psi", "threshold": 0.2}, "age": {"threshold": 0.01}},
        "prediction": {"method": "psi", "threshold": 0.15},
    }
    settings = load_settings(write_params(tmp_path, monitoring={"drift": drift}), environ={})
    current = week((settings, trained, reference), HISTORY + 1, "covariate_shift")
    decided = judge(settings, reference, current, "configured")
    full, _ = build_drift_report(settings, reference, current, "configured")
    # The report names a configured test as configured ("ks"), a default one by its display name.
    assert [v[:1] + v[2:] for v in verdicts(decided)] == [v[:1] + v[2:] for v in verdicts(full)]
    methods = {c.column: (c.method, c.threshold) for c in decided.columns}
    assert methods["credit_utilization"][1] == 0.2 and "PSI" in methods["credit_utilization"][0]
    assert methods["age"] == (methods["age"][0], 0.01) and "K-S" in methods["age"][0]
    assert decided.prediction is not None and decided.prediction.threshold == 0.15


def test_a_concept_drift_fires_on_quality_once_labels_arrive(
    world: tuple[Settings, TrainedModel, pd.DataFrame],
) -> None:
    settings, _, reference = world
    current = week(world, HISTORY + 1, "concept_drift")
    report = judge(settings, reference, current, "concept-inputs")
    assert not report.drifted  # the inputs look as before: only the labels changed
    judged = quality(settings, reference, current)
    decision, _ = judge_quality("concept", judged, "concept.html", MonitorState(), settings.monitoring, NOW)
    assert judged.drop > settings.monitoring.quality.max_roc_auc_drop, judged
    assert decision.retrain and decision.trigger is not None and decision.trigger.kind == "quality_drop"
    clean = week(world, HISTORY + 1, "none")
    held = quality(settings, reference, clean)
    assert held.drop <= settings.monitoring.quality.max_roc_auc_drop, held
    full, _, _ = build_quality_report(settings, reference, clean, "clean-quality")
    assert full == held  # the full quality report's ROC AUC is the decision's
