"""The full Evidently reports, written in the background: nothing lost, nothing written twice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.settings import Settings
from core.synthetic import LenderConfig, generate_week
from monitoring import report_queue
from monitoring.reference import PREDICTION
from monitoring.report_queue import ReportJob

pytestmark = pytest.mark.data


def scored(week: int, scenario: str = "none") -> pd.DataFrame:
    """A week's applications as the log holds them: features, a probability, the label."""
    rows = generate_week(LenderConfig(applications_per_week=600, customers=1500), week, scenario)
    rows = rows.drop(columns=["application_id", "event_timestamp", "gender", "customer_id"])
    risk = np.clip(rows["credit_utilization"].to_numpy() * 0.5, 0, 1)
    return rows.assign(**{PREDICTION: risk})


@pytest.fixture
def reference(settings: Settings) -> pd.DataFrame:
    """Version 1's reference, where the monitor keeps its copy (no MLflow needed)."""
    frame = scored(1)
    cached = settings.monitoring_dir / "reference" / "v1.parquet"
    cached.parent.mkdir(parents=True)
    frame.to_parquet(cached, index=False)
    return frame


def pending(settings: Settings) -> list[str]:
    return sorted(p.name for p in report_queue.pending_dir(settings).glob("*"))


def test_a_queued_report_is_on_disk_as_a_job_until_written(settings: Settings, reference: pd.DataFrame) -> None:
    job = ReportJob("drift", "window-a", "1")
    html = report_queue.enqueue(settings, job, scored(2, "covariate_shift"), reference)
    assert html.name == "window-a-drift.html"
    assert report_queue.wait() == []
    assert html.stat().st_size > 100_000 and html.with_suffix(".json").exists()
    assert pending(settings) == []
    quality = report_queue.enqueue(settings, ReportJob("quality", "window-a", "1"), scored(2), reference)
    assert report_queue.wait() == [] and quality.exists()
    assert (settings.monitoring_dir / "workspace").is_dir()


def test_a_job_a_stopped_process_left_is_written_by_the_next_run(settings: Settings, reference: pd.DataFrame) -> None:
    job = ReportJob("drift", "window-b", "1")
    report_queue.record(settings, job, scored(3))  # recorded, then the process stopped
    assert pending(settings) == ["window-b-drift.json", "window-b-drift.parquet"]
    assert report_queue.resume(settings) == 1
    assert report_queue.resume(settings) == 0  # queued already: not twice
    assert report_queue.wait() == []
    assert (settings.monitoring_dir / "reports" / "window-b-drift.html").exists()
    assert pending(settings) == [] and report_queue.resume(settings) == 0


def test_a_report_that_fails_keeps_its_job_for_the_next_run(settings: Settings, reference: pd.DataFrame) -> None:
    broken = scored(4).drop(columns=["annual_income"])  # the reference has it: the report cannot run
    report_queue.enqueue(settings, ReportJob("drift", "window-c", "1"), broken, reference)
    assert report_queue.wait() == ["window-c-drift"]
    assert pending(settings) == ["window-c-drift.json", "window-c-drift.parquet"]
    assert not (settings.monitoring_dir / "reports" / "window-c-drift.html").exists()


def test_reports_of_two_state_folders_do_not_mix(settings: Settings, reference: pd.DataFrame, tmp_path: Path) -> None:
    other = settings.model_copy(update={"state_dir": tmp_path / "other-state"})
    (other.monitoring_dir / "reference").mkdir(parents=True)
    reference.to_parquet(other.monitoring_dir / "reference" / "v1.parquet", index=False)
    job = ReportJob("drift", "window-d", "1")
    report_queue.record(other, job, scored(5))
    report_queue.enqueue(settings, job, scored(5), reference)
    assert report_queue.resume(other) == 1  # same name, another state folder: its own job
    assert report_queue.wait() == []
    assert all((s.monitoring_dir / "reports" / "window-d-drift.html").exists() for s in (settings, other))
