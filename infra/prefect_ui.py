"""``make prefect-ui``: Prefect's own UI, as the one UI that makes no call outside the machine.

Prefect 3.9 serves two UIs from one server: V1 at ``/`` and V2 at ``/v2``. V2 starts an
analytics client in the browser whatever ``PREFECT_SERVER_ANALYTICS_ENABLED`` says; V1
does not. ``PREFECT_SERVER_UI_V2_ENABLED=false`` (core/environment.py) makes V1 the UI
every plain address opens, but V2 stays one click away ("Switch to V2 UI").

Prefect serves each UI from a copy it makes under ``server.ui.static_directory``, and
skips the copy when a marker file there names the current bundle. ``prepare`` writes a
one-page note in V2's place, with that marker, so ``/v2`` says where the UI is instead of
calling out. If a Prefect release changes how it marks its copies, it copies V2 back in,
and the browser check (``make check-uis``) fails on the outside call.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

NOTE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Prefect</title>
<style>body{font-family:sans-serif;max-width:40em;margin:4em auto;line-height:1.5}</style></head>
<body><h1>Prefect's V2 UI is off in this project</h1>
<p>It starts an analytics client in the browser whatever the server's analytics setting says,
and this project makes no call outside the machine. Everything is in the UI at
<a href="/runs">/runs</a>: flow runs, task runs, their logs, states and artifacts.</p>
</body></html>
"""


def prepare(static_directory: Path) -> Path:
    """Put the note where Prefect would copy its V2 UI, marked as current; return its folder."""
    import prefect
    from prefect.server.api import server
    from prefect.settings import PREFECT_UI_SERVE_BASE

    _, v2_base_url = server._resolve_ui_base_urls(PREFECT_UI_SERVE_BASE.value())
    folder = static_directory / "v2"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(NOTE)
    (folder / server.UI_STATIC_REFERENCE_FILE_NAME).write_text(f"v2:{prefect.__version__}:{v2_base_url}")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.prefect_ui", description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    configured = os.environ.get("PREFECT_SERVER_UI_STATIC_DIRECTORY")
    if not configured:
        print('PREFECT_SERVER_UI_STATIC_DIRECTORY is not set (eval "$(make -s env)" sets it): nothing to prepare')
        return 1
    prepare(Path(configured))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
