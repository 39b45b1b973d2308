"""The retraining trigger policy, on hand-made report verdicts (the reports themselves are
tested on real Evidently runs in tests/monitoring/)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.sections import MonitoringSettings, TriggerSettings
from monitoring.policy import MonitorState, judge_drift, judge_quality, read_state, write_state
from monitoring.reports import ColumnDrift, Quality, WindowReport
from tests.conftest import write_params

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def report(*drifted: str, share: float | None = None, window: str = "w") -> WindowReport:
    columns = [ColumnDrift(c, "Wasserstein distance (normed)", 0.5 + i, 0.1, True) for i, c in enumerate(drifted)]
    columns.append(ColumnDrift("age", "Wasserstein distance (normed)", 0.01, 0.1, False))
    measured = share if share is not None else len(drifted) / 10
    return WindowReport(window, 1000, measured, measured >= 0.3, columns, None, None, "r.html", "r.json")


def policy(**trigger: object) -> MonitoringSettings:
    return MonitoringSettings(trigger=TriggerSettings.model_validate(trigger))


def test_a_window_without_drift_resets_the_count() -> None:
    decision, state = judge_drift(report(share=0.0), MonitorState(consecutive_drifted=1), policy(), NOW)
    assert not decision.retrain and state.consecutive_drifted == 0 and "no drift" in decision.note


def test_consecutive_drifted_windows_fire_and_name_the_features_most_drifted_first() -> None:
    first, state = judge_drift(report("income", "loan", "util"), MonitorState(), policy(consecutive_windows=2), NOW)
    assert not first.retrain and state.consecutive_drifted == 1 and "1 of 2" in first.note
    second, state = judge_drift(report("income", "loan", "util"), state, policy(consecutive_windows=2), NOW)
    assert second.retrain and second.trigger is not None and second.trigger.kind == "drift"
    assert [f["column"] for f in second.trigger.drifted_features] == ["util", "loan", "income"]  # by severity
    assert state.consecutive_drifted == 0 and state.last_retrain_at == NOW.isoformat()
    assert second.trigger.as_tags()["trigger_features"] == "util, loan, income"


def test_a_critical_feature_fires_alone_even_below_the_share() -> None:
    decision, _ = judge_drift(report("util", share=0.1), MonitorState(), policy(critical_features=("util",)), NOW)
    assert decision.retrain and decision.trigger is not None and decision.trigger.kind == "critical_feature"


def test_no_second_retraining_inside_the_cooldown() -> None:
    recent = MonitorState(consecutive_drifted=5, last_retrain_at=(NOW - dt.timedelta(minutes=10)).isoformat())
    held, _ = judge_drift(report("income", "loan", "util"), recent, policy(consecutive_windows=1), NOW)
    assert not held.retrain and "cooldown" in held.note
    later = NOW + dt.timedelta(minutes=51)
    fired, _ = judge_drift(report("income", "loan", "util"), recent, policy(consecutive_windows=1), later)
    assert fired.retrain


def test_a_quality_drop_fires_and_a_small_one_does_not() -> None:
    settings = policy()
    ok, _ = judge_quality("w", Quality(500, 0.80, 0.82), "q.html", MonitorState(), settings, NOW)
    assert not ok.retrain and "holds" in ok.note
    dropped, _ = judge_quality("w", Quality(500, 0.72, 0.82), "q.html", MonitorState(), settings, NOW)
    assert dropped.retrain and dropped.trigger is not None and dropped.trigger.kind == "quality_drop"
    off = MonitoringSettings(trigger=TriggerSettings(on_quality_drop=False))
    ignored, _ = judge_quality("w", Quality(500, 0.72, 0.82), "q.html", MonitorState(), off, NOW)
    assert not ignored.retrain and "trigger off" in ignored.note


def test_p_value_tests_rank_by_how_far_below_their_threshold() -> None:
    strong = ColumnDrift("a", "K-S p_value", 1e-12, 0.05, True)
    weak = ColumnDrift("b", "K-S p_value", 0.01, 0.05, True)
    assert strong.severity > weak.severity > 1.0


def test_the_state_survives_a_round_trip(tmp_path: object) -> None:
    from pathlib import Path

    from core.settings import load_settings
    from monitoring.policy import PendingQuality

    folder = Path(str(tmp_path))
    settings = load_settings(write_params(folder), environ={})
    state = MonitorState("2026-11-26T12:00:00+00:00", 1, None, 3, (PendingQuality("w", "a", "b", "2"),))
    write_state(settings, state)
    assert read_state(settings) == state
