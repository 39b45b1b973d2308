"""The full Evidently reports, written off the decision's critical path.

The trigger decides from ``decisions.py`` in well under a second. The full reports
(every distribution binned and drawn, self-contained HTML, JSON, an entry in the
Evidently workspace behind ``make monitor-ui``) take seconds each, so they are queued
here and written in order by one background process while the loop goes on: a process,
not a thread, because the work is pure Python (plotly figures): in a thread it would
hold the interpreter lock that the traffic simulator's threads need (and the reports'
``warnings.catch_warnings`` is not thread-safe). It starts, and imports Evidently, on
the first job, and serves every later job of the process.

Nothing is lost if the process stops first. A job is on disk before it is queued:
``monitoring/reports/pending/<report>.json``, with the window's rows beside it as
parquet, removed once the report is saved. ``wait()`` drains the queue: the loop and
the CLI call it before they finish (and Python waits for the writer at exit anyway).
A job that a killed process left behind is written by the next monitor run
(``resume``), before it judges anything new. A report that fails is logged as an error
and its job kept, so the next run tries again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from core.files import write_json_atomically
from core.settings import Settings
from monitoring import reports
from monitoring.labels import WindowLabel
from monitoring.reference import reference_for

logger = logging.getLogger(__name__)

Kind = Literal["drift", "quality"]


@dataclass(frozen=True)
class ReportJob:
    """One full report to write: a window judged against the reference of one model version."""

    kind: Kind
    window: str
    model_version: str
    label: WindowLabel | None = None  # the window in words, for its reports' titles, tags and metadata

    @property
    def name(self) -> str:
        return f"{self.window}-{self.kind}"


def pending_dir(settings: Settings) -> Path:
    return settings.monitoring_dir / "reports" / "pending"


def enqueue(settings: Settings, job: ReportJob, rows: pd.DataFrame, reference: pd.DataFrame | None = None) -> Path:
    """Record the job on disk, then queue it; return where its HTML report will be."""
    record(settings, job, rows)
    _queue.submit(settings, job, rows, reference)
    return reports.report_paths(settings, job.name)[0]


def record(settings: Settings, job: ReportJob, rows: pd.DataFrame) -> None:
    """Keep on disk what the report needs (the rows; the reference is the version's): a stop loses nothing."""
    folder = pending_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    rows.to_parquet(folder / f"{job.name}.parquet", index=False)
    write_json_atomically(folder / f"{job.name}.json", asdict(job))  # last: a job file means its rows are there


def resume(settings: Settings) -> int:
    """Queue the jobs a previous process recorded but did not finish; return how many."""
    found = 0
    for path in sorted(pending_dir(settings).glob("*.json")):
        fields = json.loads(path.read_text())
        label = fields.pop("label", None)
        job = ReportJob(**fields, label=WindowLabel(**label) if label else None)
        if _queue.knows(settings, job):
            continue
        found += 1
        logger.info("writing the %s report a previous run left pending", job.name)
        _queue.submit(settings, job, None, None)
    return found


def wait() -> list[str]:
    """Block until every queued report is written; return the names of those that failed."""
    return _queue.drain()


def write(settings: Settings, job: ReportJob, rows: pd.DataFrame | None, reference: pd.DataFrame | None) -> None:
    """Write one full report and its workspace entry; then forget the job."""
    folder = pending_dir(settings)
    if rows is None:
        rows = pd.read_parquet(folder / f"{job.name}.parquet")
    if reference is None:
        reference = reference_for(settings, job.model_version)
    if job.kind == "drift":
        _, snapshot = reports.build_drift_report(settings, reference, rows, job.window, job.label)
    else:
        _, _, snapshot = reports.build_quality_report(settings, reference, rows, job.window, job.label)
    reports.add_to_workspace(settings, snapshot, job.label)
    for suffix in (".json", ".parquet"):
        (folder / f"{job.name}{suffix}").unlink(missing_ok=True)


class _Queue:
    """One writer process for this process, started on the first job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._futures: dict[tuple[Path, str], Future[None]] = {}

    def knows(self, settings: Settings, job: ReportJob) -> bool:
        with self._lock:
            return (settings.monitoring_dir, job.name) in self._futures

    def submit(
        self, settings: Settings, job: ReportJob, rows: pd.DataFrame | None, reference: pd.DataFrame | None
    ) -> None:
        with self._lock:
            if self._executor is None:
                # spawn: a fresh interpreter, not a fork of this one and its threads (Prefect's, the simulator's)
                self._executor = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_yield_to_the_loop
                )
            future = self._executor.submit(write, settings, job, rows, reference)
            self._futures[(settings.monitoring_dir, job.name)] = future
        future.add_done_callback(lambda done: _log_failure(job, done))

    def drain(self) -> list[str]:
        with self._lock:
            futures = dict(self._futures)
        failed = [name for (_, name), future in futures.items() if future.exception() is not None]
        with self._lock:
            for key, future in futures.items():
                if self._futures.get(key) is future:
                    del self._futures[key]
        return failed


def _yield_to_the_loop() -> None:
    """The writer runs at a lower CPU priority (nice 10): on a small machine its seconds of
    plotting would otherwise take a core from the decision, the service and the retraining
    it is meant to stay out of the way of; it gets every cycle they leave idle."""
    with contextlib.suppress(OSError):
        os.nice(10)


def _log_failure(job: ReportJob, done: Future[None]) -> None:
    error = done.exception()
    if error is not None:
        logger.error(
            "the full %s report failed (its job stays pending for the next run): %s",
            job.name,
            error,
            exc_info=error,
        )


_queue = _Queue()
