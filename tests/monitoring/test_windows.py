"""Cutting the prediction log into windows, and joining delayed labels by request id."""

from __future__ import annotations

import pandas as pd
import pytest

from monitoring.windows import LOGGED_AT, REQUEST_ID, next_windows, with_labels

pytestmark = pytest.mark.unit


def log(rows: int) -> pd.DataFrame:
    stamps = pd.date_range("2026-11-26T12:00:00", periods=rows, freq="s", tz="UTC")
    return pd.DataFrame({LOGGED_AT: [s.isoformat() for s in stamps], REQUEST_ID: [f"r{i}" for i in range(rows)]})


def test_full_windows_close_and_a_large_enough_tail_is_judged() -> None:
    windows = next_windows(log(2500), None, window_rows=1000, min_rows=300)
    assert [len(w.rows) for w in windows] == [1000, 1000, 500]


def test_a_tail_under_the_minimum_waits_for_more_traffic() -> None:
    predictions = log(1200)
    windows = next_windows(predictions, None, window_rows=1000, min_rows=300)
    assert [len(w.rows) for w in windows] == [1000]
    assert next_windows(predictions, windows[-1].end, 1000, 300) == []  # 200 rows: too few
    assert next_windows(log(150), None, 1000, 300) == []


def test_the_cursor_skips_what_was_judged() -> None:
    predictions = log(900)
    cursor = str(predictions[LOGGED_AT].iloc[499])
    (window,) = next_windows(predictions, cursor, 1000, 300)
    assert window.rows[REQUEST_ID].iloc[0] == "r500" and len(window.rows) == 400
    assert window.name.endswith("-400")


def test_labels_join_by_request_id_and_unlabelled_rows_wait() -> None:
    labels = pd.DataFrame({REQUEST_ID: ["r1", "r3", "unknown"], "is_default": [1, 0, 1]})
    joined = with_labels(log(5), labels, "is_default")
    assert joined[REQUEST_ID].tolist() == ["r1", "r3"] and joined["is_default"].tolist() == [1, 0]
