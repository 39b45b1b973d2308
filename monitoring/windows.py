"""The prediction log, read as a table and cut into windows; delayed labels joined by request id.

A window is a run of consecutive logged predictions: it closes after
``monitoring.window_rows`` rows, and the log's tail becomes a window once it holds at
least ``monitoring.min_rows`` (a smaller tail waits for more traffic: a verdict on a
handful of rows would be noise). Windows are identified by the time range they cover,
so the monitor can come back to one when its labels arrive.

Both live where the settings say (``loop_store``): local files under data/, or the
team's shared store, which every replica writes and any machine's monitor reads, in the
project's own folder of it (``<loop_store>/<project>``, ``Settings.loop_root``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core import loop_store
from core.settings import Settings
from serving.shared_log import scan_log

LOGGED_AT = "logged_at"
REQUEST_ID = "request_id"
# What the log says about each answer besides the features the model saw.
ANSWER_FIELDS = (
    LOGGED_AT,
    REQUEST_ID,
    "entity",  # the request's entity, whatever the contract names it (serving/runtime.py)
    "event_time",  # the event's time: the request's own, or when it arrived
    "variant",
    "model_version",
    "probability",
    "decision",
    "shadow_probability",
    "shadow_version",
)


@dataclass(frozen=True)
class Window:
    start: str  # logged_at of its first and last rows (ISO 8601, UTC)
    end: str
    rows: pd.DataFrame

    @property
    def name(self) -> str:
        stamp = dt.datetime.fromisoformat(self.start)
        return f"window-{stamp:%Y%m%dT%H%M%S}-{len(self.rows)}"


def load_predictions(settings: Settings, problems: list[str] | None = None) -> pd.DataFrame:
    """Every logged prediction, one column per answer field and per feature, in log order.

    Lines that are not predictions (damage, not a crash's torn last line) are left out
    and named in ``problems`` when a list is given.
    """
    found = scan_log(settings)
    if problems is not None:
        problems.extend(found.problems())
    records = [{**{k: entry.get(k) for k in ANSWER_FIELDS}, **(entry.get("features") or {})} for entry in found.entries]
    frame = pd.DataFrame.from_records(records, columns=None if records else list(ANSWER_FIELDS))
    if frame.empty:
        return frame
    # Shadow-mode answers carry the champion's probability; challenger failures the champion's too.
    return frame.sort_values(LOGGED_AT, kind="stable").reset_index(drop=True)


def between(predictions: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    if predictions.empty:
        return predictions
    stamps = predictions[LOGGED_AT]
    return predictions[(stamps >= start) & (stamps <= end)].reset_index(drop=True)


def next_windows(predictions: pd.DataFrame, cursor: str | None, window_rows: int, min_rows: int) -> list[Window]:
    """Windows of the predictions logged after ``cursor``; a tail under ``min_rows`` waits."""
    fresh = predictions if cursor is None or predictions.empty else predictions[predictions[LOGGED_AT] > cursor]
    windows = []
    for offset in range(0, len(fresh), window_rows):
        chunk = fresh.iloc[offset : offset + window_rows].reset_index(drop=True)
        if len(chunk) < min_rows:
            break
        windows.append(Window(str(chunk[LOGGED_AT].iloc[0]), str(chunk[LOGGED_AT].iloc[-1]), chunk))
    return windows


def labels_path(settings: Settings, name: str) -> Path:
    return settings.labels_dir / f"labels_{name}.parquet"


LABELS = "labels"


def write_labels(settings: Settings, name: str, labels: pd.DataFrame) -> str:
    """Deliver a batch of ground truth (``request_id`` and the label); returns where it went."""
    if settings.loop_store is None:
        path = labels_path(settings, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        labels.to_parquet(path, index=False)
        return str(path)
    filesystem, root = loop_store.filesystem(settings)
    key = f"{root}/{LABELS}/labels_{name}.parquet"
    filesystem.makedirs(f"{root}/{LABELS}", exist_ok=True)  # a no-op on S3
    with filesystem.open(key, "wb") as target:  # one object, whole or not at all
        labels.to_parquet(target, index=False)
    return key


def load_labels(settings: Settings) -> pd.DataFrame:
    """All delivered ground truth: ``request_id`` and the label column."""
    label = settings.schema_.label
    empty = pd.DataFrame({REQUEST_ID: pd.Series(dtype=str), label: pd.Series(dtype="int64")})
    if settings.loop_store is None:
        paths = sorted(settings.labels_dir.glob("labels_*.parquet"))
        if not paths:
            return empty
        labels = pd.concat([pd.read_parquet(p, columns=[REQUEST_ID, label]) for p in paths], ignore_index=True)
        return labels.drop_duplicates(REQUEST_ID, keep="last")
    import pyarrow.dataset as ds

    filesystem, root = loop_store.filesystem(settings)
    folder = f"{root}/{LABELS}"
    filesystem.invalidate_cache()  # s3fs caches listings: new batches would go unseen
    keys = sorted(k for k in filesystem.find(folder) if k.rsplit("/", 1)[-1].startswith("labels_"))
    if not keys:
        return empty
    # One dataset over every delivered batch, read through the same fsspec client, in name order.
    table = ds.dataset(keys, format="parquet", filesystem=filesystem).to_table(columns=[REQUEST_ID, label])
    delivered: pd.DataFrame = table.to_pandas()
    return delivered.drop_duplicates(REQUEST_ID, keep="last").reset_index(drop=True)


def with_labels(rows: pd.DataFrame, labels: pd.DataFrame, label: str) -> pd.DataFrame:
    """The rows whose label has arrived, with it."""
    return rows.merge(labels[[REQUEST_ID, label]], on=REQUEST_ID, how="inner", validate="many_to_one")
