"""Atomic writes: a reader sees the old content or the new, never half of it.

The file is written beside its destination and renamed over it (a rename within one
folder is atomic on POSIX), after an fsync when the caller needs it durable.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_text_atomically(path: Path, text: str, *, durable: bool = False) -> None:
    """Replace ``path`` with ``text`` in one step; with ``durable``, on disk before this returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as handle:
        handle.write(text)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    Path(handle.name).replace(path)


def write_json_atomically(path: Path, content: Any, *, durable: bool = False, indent: int | None = None) -> None:
    write_text_atomically(path, json.dumps(content, indent=indent, default=str), durable=durable)
