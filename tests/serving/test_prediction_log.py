"""The prediction log keeps its file open between requests, and never writes into a file that is gone."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from serving.prediction_log import PredictionLog, read

pytestmark = pytest.mark.unit


def test_every_line_is_readable_at_once_without_closing(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "predictions")
    for i in range(3):
        log.append({"request_id": f"r{i}", "probability": 0.1 * i})
    # Flushed per line: a reader (the monitor) sees every record while the log is open.
    assert [r["request_id"] for r in read(log.folder)] == ["r0", "r1", "r2"]
    log.close()


def test_a_moved_or_deleted_file_is_started_again(tmp_path: Path) -> None:
    folder = tmp_path / "predictions"
    log = PredictionLog(folder)
    log.append({"request_id": "before"})
    today = log.path_for(dt.datetime.now(dt.UTC).date())
    today.rename(tmp_path / "rotated.jsonl")  # as a log rotation would
    log.append({"request_id": "after rotation"})
    assert [r["request_id"] for r in read(folder)] == ["after rotation"]
    shutil.rmtree(folder)  # as `make clean` would, under a running service
    log.append({"request_id": "after clean"})
    assert [r["request_id"] for r in read(folder)] == ["after clean"]
    log.close()


def test_a_reopened_log_appends_to_the_days_file(tmp_path: Path) -> None:
    folder = tmp_path / "predictions"
    first = PredictionLog(folder)
    first.append({"request_id": "a"})
    first.close()
    second = PredictionLog(folder)
    second.append({"request_id": "b"})
    second.close()
    assert [r["request_id"] for r in read(folder)] == ["a", "b"]
