"""The prediction log: every answered request, appended as one JSON line.

One file per UTC day under ``data/predictions/``. Each line holds the request id, the
time, the entity, the features the model saw, the probability and decision, and
which variant and model version answered, with the data and feature versions that model
learned from (its registry tags). Monitoring reads it for drift, and delayed
labels join it by request id. Each line is written and flushed to the operating
system before the answer leaves, so a crash of the service loses at most the request
in flight. The day's file stays open between requests (opening it per request was a
sixth of the service's time under load).

This is the local profile's log. With ``loop_store`` set (the team profile), every
replica writes segments to the shared store instead (``serving/shared_log.py``), in
the same line format, read by the same parser (``parse_lines``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO


class PredictionLog:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._day: dt.date | None = None
        self._handle: TextIO | None = None

    def path_for(self, day: dt.date) -> Path:
        return self.folder / f"predictions_{day:%Y-%m-%d}.jsonl"

    def append(self, record: dict[str, Any]) -> None:
        self.append_many([record])

    def append_many(self, records: list[dict[str, Any]]) -> None:
        """A batch's records: written and flushed together (one check of the file, one write), before any answer."""
        now = dt.datetime.now(dt.UTC)
        lines = "".join(json_line(now, record) + "\n" for record in records)
        with self._lock:
            handle = self._handle
            if handle is None or not self._still_current(now.date()):
                handle = self._open(now.date())
            handle.write(lines)
            handle.flush()

    def _still_current(self, day: dt.date) -> bool:
        """The open file is the day's and still sits at its path (not moved or deleted: a stat, as
        the standard library's ``WatchedFileHandler`` does, far cheaper than opening it)."""
        if self._handle is None or self._day != day:
            return False
        try:
            on_disk = self.path_for(day).stat()
        except FileNotFoundError:
            return False
        held = os.fstat(self._handle.fileno())
        return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)

    def _open(self, day: dt.date) -> TextIO:
        """Start the day's file (a new day, the first request, or the old file moved away); appends if it exists."""
        if self._handle is not None:
            self._handle.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._handle, self._day = self.path_for(day).open("a", encoding="utf-8"), day
        return self._handle

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
            self._handle, self._day = None, None


def json_line(now: dt.datetime, record: dict[str, Any]) -> str:
    """One record as the log holds it: its time first, then the record, in plain JSON."""
    return json.dumps({"logged_at": now.isoformat(), **record}, default=_plain, allow_nan=False)


def _plain(value: Any) -> Any:
    """numpy scalars and NaN (a missing feature) as plain JSON."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def clean_features(features: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in features.items()}


@dataclass
class LogScan:
    """What reading the log found: the entries, and every line that was not one.

    A torn last line of a file is what a crash leaves (the request in flight, never
    answered): expected, counted apart. Any other line that is not a JSON object is
    damage, and is named by file and line so that nothing is dropped silently.
    """

    entries: list[dict[str, Any]] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)  # "predictions_<day>.jsonl:<line>"
    torn: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        shown = ", ".join(self.corrupt[:5]) + (f" (+{len(self.corrupt) - 5} more)" if len(self.corrupt) > 5 else "")
        return (
            [f"{len(self.corrupt)} corrupt line(s) in the prediction log, not judged: {shown}"] if self.corrupt else []
        )


def scan(folder: Path) -> LogScan:
    """Every logged prediction, oldest file first, with the lines that could not be read."""
    found = LogScan()
    for path in sorted(folder.glob("predictions_*.jsonl")):
        parse_lines(path.name, path.read_text(encoding="utf-8").splitlines(), found)
    return found


def parse_lines(name: str, lines: list[str], found: LogScan, torn_possible: bool = True) -> None:
    """Add a file's entries to ``found``; a line that is not one is torn (the last, if possible) or corrupt."""
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = None
        if isinstance(entry, dict):
            found.entries.append(entry)
        elif torn_possible and number == len(lines):
            found.torn.append(f"{name}:{number}")
        else:
            found.corrupt.append(f"{name}:{number}")


def read(folder: Path) -> Iterator[dict[str, Any]]:
    """Every logged prediction, oldest file first (``scan`` also says which lines were not readable)."""
    yield from scan(folder).entries
