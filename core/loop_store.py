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

import functools
import json
import os
from pathlib import Path
from typing import Any

from core.files import write_json_atomically
from core.settings import Settings

CANARY_STATE = "serving/canary_state.json"
MONITOR_STATE = "monitoring/state.json"


# What picks the S3 store and the identity used on it: the client follows them as they are now.
CLIENT_ENVIRONMENT = (
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def filesystem(settings: Settings) -> tuple[Any, str]:
    """The fsspec filesystem of ``loop_store`` and the path of this project's root on it.

    One client per store *and environment*: fsspec's own instance cache keys on the
    constructor's arguments only, so a process whose environment came to name another
    endpoint (a second stack, other credentials) would go on reading the first one.
    """
    if settings.loop_root is None:
        raise ValueError("loop_store is not set: the loop's state is local files")
    return _client(settings.loop_root, tuple(os.environ.get(name) for name in CLIENT_ENVIRONMENT))


@functools.lru_cache(maxsize=8)
def _client(url: str, environment: tuple[str | None, ...]) -> tuple[Any, str]:
    """A client built for ``url`` under this environment (the key only; the client reads os.environ)."""
    import fsspec

    found, root = fsspec.core.url_to_fs(url, skip_instance_cache=True)  # <loop_store>/<project>: one project's part
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
