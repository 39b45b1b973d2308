"""The prediction log: every answered request, appended as one JSON line.

One file per UTC day under ``data/predictions/``. Each line holds the request id, the
time, the entity, the features the model saw, the probability and decision, and
which variant and model version answered. Monitoring reads it for drift, and delayed
labels join it by request id. Each line is written and flushed before the answer
leaves, so a crash loses at most the request in flight.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class PredictionLog:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def path_for(self, day: dt.date) -> Path:
        return self.folder / f"predictions_{day:%Y-%m-%d}.jsonl"

    def append(self, record: dict[str, Any]) -> None:
        now = dt.datetime.now(dt.UTC)
        line = json.dumps({"logged_at": now.isoformat(), **record}, default=_plain, allow_nan=False)
        with self._lock, self.path_for(now.date()).open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()


def _plain(value: Any) -> Any:
    """numpy scalars and NaN (a missing feature) as plain JSON."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def clean_features(features: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in features.items()}


def read(folder: Path) -> Iterator[dict[str, Any]]:
    """Every logged prediction, oldest file first; a torn last line (a crash) is skipped."""
    for path in sorted(folder.glob("predictions_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
