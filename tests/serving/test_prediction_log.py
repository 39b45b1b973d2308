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


def test_a_damaged_line_mid_file_is_named_and_a_torn_last_line_is_expected(tmp_path: Path) -> None:
    from serving.prediction_log import scan

    folder = tmp_path / "predictions"
    log = PredictionLog(folder)
    for i in range(3):
        log.append({"request_id": f"r{i}"})
    log.close()
    path = next(folder.glob("predictions_*.jsonl"))
    lines = path.read_text().splitlines()
    lines[1] = lines[1][:20]  # damage in the middle of the file
    path.write_text("\n".join([*lines, '{"request_id": "r3", "prob']) + "\n")  # and a crash's torn tail
    found = scan(folder)
    assert [e["request_id"] for e in found.entries] == ["r0", "r2"]
    assert found.corrupt == [f"{path.name}:2"] and found.torn == [f"{path.name}:4"]
    assert found.problems() == [f"1 corrupt line(s) in the prediction log, not judged: {path.name}:2"]
