"""Where the loop's shared state lives: local files, or ``loop_store`` (the team profile).

The loop (serve, monitor, retrain, canary) keeps state that more than one process reads:
the prediction log and the delivered labels (``serving/shared_log.py``,
``monitoring/windows.py``), and two small documents:

* the canary state (``serving/canary.py``): what every replica routes by, written by the
  canary controller;
* the monitor's memory (``monitoring/policy.py``): the last window judged, the windows
  waiting for labels, the retraining cooldown.

Without ``loop_store`` a document is a JSON file under the state folder, replaced by a
rename (a reader sees the old file or the new). With it (``s3://bucket/prefix``) it is an
object under that prefix (under the project's own part of it, ``<loop_store>/<project>``),
which the store replaces whole on every write, so every
replica and every runner (a worker, the CT workflow's fresh machine) reads the same one.
fsspec's s3fs is the client, as for the log: its endpoint and credentials come from the
environment (``AWS_*``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.files import write_json_atomically
from core.settings import Settings

CANARY_STATE = "serving/canary_state.json"
MONITOR_STATE = "monitoring/state.json"


def filesystem(settings: Settings) -> tuple[Any, str]:
    """The fsspec filesystem of ``loop_store`` and the path of this project's root on it."""
    import fsspec

    if settings.loop_root is None:
        raise ValueError("loop_store is not set: the loop's state is local files")
    found, root = fsspec.core.url_to_fs(settings.loop_root)  # <loop_store>/<project>: one project's part
    return found, root.rstrip("/")


def local_path(settings: Settings, name: str) -> Path:
    """Where document ``name`` lives without ``loop_store``: under the state folder."""
    return settings.state / name


def location(settings: Settings, name: str) -> str:
    """Where document ``name`` lives under these settings, as a person would look for it."""
    if settings.loop_store is None:
        return str(local_path(settings, name))
    return f"{settings.loop_root}/{name}"


def read_document(settings: Settings, name: str) -> bytes | None:
    """The document's bytes as last written, or None if it was never written.

    Cheap enough to poll: a small file, or one GET of a small object. Nothing is cached
    between calls, so a reader sees another process's write at its next call.
    """
    if settings.loop_store is None:
        try:
            return local_path(settings, name).read_bytes()
        except FileNotFoundError:
            return None
    found, root = filesystem(settings)
    try:
        return bytes(found.cat_file(f"{root}/{name}"))
    except FileNotFoundError:
        return None


def read_json(settings: Settings, name: str) -> Any:
    """The document, parsed; None if it was never written."""
    raw = read_document(settings, name)
    return None if raw is None else json.loads(raw)


def write_json(settings: Settings, name: str, content: Any, *, indent: int | None = None) -> None:
    """Replace the document whole: a reader sees the old content or the new, never half."""
    if settings.loop_store is None:
        write_json_atomically(local_path(settings, name), content, indent=indent)
        return
    found, root = filesystem(settings)
    key = f"{root}/{name}"
    found.makedirs(key.rsplit("/", 1)[0], exist_ok=True)  # a no-op on S3; a file:// store needs the folder
    found.pipe_file(key, json.dumps(content, indent=indent, default=str).encode("utf-8"))
