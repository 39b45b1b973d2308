"""Get a process ready for its first flow: Prefect's ephemeral API and the stack's imports, side by side.

Without ``PREFECT_API_URL``, Prefect starts a temporary API server the first time a flow
runs, and the flow waits for it (seconds: a subprocess that imports Prefect's server and
migrates its database). Meanwhile the process sits idle, and later spends about as long
again importing Great Expectations, Feast, MLflow, scikit-learn and Evidently inside the
first tasks. Here the server starts in a thread (its work runs in its own process, on
the other core) while this process does those imports, and the first flow waits for
neither. The server is the one Prefect would have started: started once per process,
stopped by Prefect at exit.
"""

from __future__ import annotations

import importlib
import threading

from core import registry
from core.settings import Settings

# What the loop's steps import on their first use, heaviest first.
LIBRARIES = ("great_expectations", "feast", "mlflow", "evidently", "sklearn.ensemble", "dvc.repo")


def prepare(settings: Settings) -> None:
    """Start Prefect's ephemeral API (unless a server is configured) while importing the libraries.

    The MLflow store is created then too (on SQLite, its tables and migrations): the
    first training would create it anyway, and a service started during that training
    must find it complete, not race to create it.
    """
    from prefect.settings import PREFECT_API_URL

    server = None if PREFECT_API_URL.value() else threading.Thread(target=_start_ephemeral_api, daemon=True)
    if server is not None:
        server.start()
    for name in LIBRARIES:
        importlib.import_module(name)
    registry.client(settings).search_experiments(max_results=1)
    if server is not None:
        server.join()  # Prefect must not see a half-started server: the first flow waits for it here


def _start_ephemeral_api() -> None:
    from prefect.server.api.server import SubprocessASGIServer

    SubprocessASGIServer().start()
