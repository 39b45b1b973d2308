"""Windows and runs are named for what they are: window, week, scenario, serving model; train or retrain."""

from __future__ import annotations

import pytest

from core.settings import Settings
from monitoring.labels import WindowLabel
from monitoring.policy import MonitorState
from pipelines.steps.model_selection import run_name
from pipelines.steps.monitor import label_for

pytestmark = pytest.mark.unit


def test_a_window_is_named_by_number_week_scenario_and_model() -> None:
    label = label_for(MonitorState(windows_judged=2), "1", {"week": "15", "scenario": "covariate_shift"})
    assert label == WindowLabel(3, "1", "15", "covariate_shift")
    assert label.title("drift") == "window 3, week 15, covariate_shift, served by v1: drift"
    assert {"window 3", "week 15", "scenario covariate_shift", "model v1", "drift"} == set(label.tags("drift"))
    assert label.metadata("window-20261201T204656-1585")["window"] == "window-20261201T204656-1585"
    unknown = label_for(MonitorState(), "2", None)  # real traffic: the sender does not say
    assert unknown.title("quality") == "window 1, served by v2: quality" and "week" not in " ".join(unknown.tags("x"))


def test_training_runs_are_named_for_their_data_or_their_trigger(settings: Settings) -> None:
    assert run_name(settings, None) == "train no data"  # nothing accepted yet
    settings.raw_dir.mkdir(parents=True)
    (settings.raw_dir / "week_2026-03-23.parquet").touch()  # week 12 of the synthetic lender
    assert run_name(settings, None) == "train week 12"
    assert run_name(settings, {"trigger": "drift", "trigger_label": "window 3 (covariate_shift)"}) == (
        "retrain after window 3 (covariate_shift)"
    )
