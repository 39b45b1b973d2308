"""The shared prediction log: segments by count, by time and on shutdown; nothing lost on a failed write.

Against fsspec's local filesystem (a ``file://`` loop_store): the same calls the S3 store
gets (tests/infra/test_team_profile.py runs them against S3 on loopback).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from core import loop_store
from core.settings import Settings, load_settings
from monitoring.windows import load_labels, load_predictions, write_labels
from serving.prediction_log import PredictionLog
from serving.shared_log import SegmentLog, open_log, scan_log, scan_segments, wait_until_logged

pytestmark = pytest.mark.unit


def shared(workspace: Path, rows: int = 3, seconds: float = 60) -> Settings:
    return load_settings(
        workspace / "params.yaml",
        {
            "loop_store": (workspace / "shared").as_uri(),
            "serving.log_segment_rows": rows,
            "serving.log_flush_seconds": seconds,
        },
    )


def segments(settings: Settings) -> list[Path]:
    return sorted((Path(str(settings.loop_root).removeprefix("file://")) / "predictions").rglob("*.jsonl"))


def wait_for(condition: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.02)


def test_the_local_profile_keeps_the_day_files(workspace: Path) -> None:
    settings = load_settings(workspace / "params.yaml")
    log = open_log(settings)
    assert isinstance(log, PredictionLog) and log.folder == settings.predictions_dir
    log.append({"request_id": "r0"})
    log.close()
    assert [e["request_id"] for e in scan_log(settings).entries] == ["r0"]


def test_a_full_segment_is_written_at_once_and_the_rest_on_close(workspace: Path) -> None:
    settings = shared(workspace, rows=3)
    log = open_log(settings)
    assert isinstance(log, SegmentLog)
    for i in range(4):
        log.append({"request_id": f"r{i}", "features": {"x": float(i)}})
    wait_for(lambda: len(segments(settings)) == 1)  # three records: one segment, off the request path
    assert log.pending() == 1 and [e["request_id"] for e in scan_log(settings).entries] == ["r0", "r1", "r2"]
    log.close()  # the service's shutdown writes what is left
    assert len(segments(settings)) == 2 and log.pending() == 0
    assert list(load_predictions(settings)["request_id"]) == ["r0", "r1", "r2", "r3"]
    assert not settings.predictions_dir.exists()


def test_a_quiet_log_is_written_after_the_flush_interval(workspace: Path) -> None:
    settings = shared(workspace, rows=1000, seconds=0.3)
    log = open_log(settings)
    started = time.monotonic()
    log.append({"request_id": "alone"})
    wait_for(lambda: len(segments(settings)) == 1)
    assert time.monotonic() - started >= 0.3  # not before its time: segments stay few
    assert [e["request_id"] for e in scan_log(settings).entries] == ["alone"]
    log.close()


def test_a_failed_write_keeps_the_records_for_the_next(tmp_path: Path) -> None:
    import fsspec

    filesystem = fsspec.filesystem("file")
    blocked = tmp_path / "shared"
    blocked.write_text("a file where the log's folder should be")  # every write under it fails
    log = SegmentLog(filesystem, str(blocked), rows=1000, seconds=3600)
    log.append({"request_id": "kept"})
    assert log.flush() == 0 and log.pending() == 1
    blocked.unlink()
    assert log.flush() == 1 and log.pending() == 0
    assert [e["request_id"] for e in scan_segments(filesystem, str(blocked)).entries] == ["kept"]
    log.close()


def test_a_damaged_segment_line_is_named_not_dropped(workspace: Path) -> None:
    settings = shared(workspace, rows=2)
    log = open_log(settings)
    log.append({"request_id": "a"})
    log.append({"request_id": "b"})
    log.close()
    (segment,) = segments(settings)
    segment.write_text(segment.read_text() + "not json\n")
    found = scan_segments(*loop_store.filesystem(settings))
    assert [e["request_id"] for e in found.entries] == ["a", "b"]
    assert found.corrupt == [f"{segment.name}:3"] and not found.torn


def test_labels_go_to_the_shared_store_and_come_back(workspace: Path) -> None:
    settings = shared(workspace)
    label = settings.schema_.label
    assert load_labels(settings).empty
    write_labels(settings, "w1", pd.DataFrame({"request_id": ["a", "b"], label: [0, 1]}))
    write_labels(settings, "w2", pd.DataFrame({"request_id": ["b"], label: [0]}))  # b corrected later
    labels = load_labels(settings)
    assert dict(zip(labels["request_id"], labels[label], strict=True)) == {"a": 0, "b": 0}
    assert not settings.labels_dir.exists()


def test_the_sender_can_wait_for_its_answers_to_be_readable(workspace: Path) -> None:
    settings = shared(workspace, rows=1000, seconds=0.3)
    log = open_log(settings)
    log.append({"request_id": "sent"})
    assert not wait_until_logged(settings, ["sent", "never answered"], seconds=1)
    assert wait_until_logged(settings, ["sent"])  # within the flush interval
    log.close()
    assert wait_until_logged(load_settings(workspace / "params.yaml"), ["local files need no wait"])
