"""Get a process ready for its first flow: Prefect's temporary API and the stack's imports, side by side.

Without ``PREFECT_API_URL``, Prefect starts a temporary API server the first time a flow
runs, and the flow waits for it: a subprocess that imports Prefect's server and, on a new
state folder, migrates its database (about 12 s here). Starting it from a thread of this
process saved little: that thread first imports Prefect's server itself (about 4 s of
this process's CPU, under one interpreter lock with the other imports).

So the CLI spawns the very server Prefect would have started (the uvicorn command and
environment of Prefect's ``SubprocessASGIServer``) as the first thing it does, before this
process imports Prefect at all, and points Prefect at it through ``PREFECT_API_URL``. Its
start runs on the other core while this process imports the flows, Great Expectations,
Feast, MLflow, scikit-learn and Evidently, which the first tasks would otherwise import
one by one. Before the first flow the process waits for the server's health check; the
server is stopped at exit, after Prefect's own exit handlers have sent their last logs.

A new state folder's Prefect database starts as a copy of one migrated once per
environment (``make setup`` runs ``python -m pipelines.warmup``), not migrated anew:
the migrations cost about 9 s of CPU, and on two cores they slowed the imports beside
them by a fifth (the start: 12.3 s with a new database, 9.6 s with a migrated one).
Without that copy (no ``make setup``, another Prefect) the server migrates as before.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.metadata
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

from core import processes, registry
from core.settings import Settings

# What the loop's steps import on their first use, heaviest first (Feast: see prepare).
LIBRARIES = ("great_expectations", "mlflow", "evidently", "sklearn.ensemble", "dvc.repo")


@dataclass(frozen=True)
class TemporaryAPI:
    """Prefect's temporary API server of this process: started early, stopped at exit."""

    process: Popen[bytes]
    url: str
    log: Path

    def wait(self) -> None:
        """Until the server answers its health check (a new database migrates first)."""
        seconds = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180"))
        processes.wait_until(self.process, f"{self.url}/health", seconds=seconds, log=self.log)

    def stop(self) -> None:
        processes.stop(self.process, grace_seconds=10)


_started: list[TemporaryAPI] = []  # at most one per process


def start_prefect_api(settings: Settings) -> TemporaryAPI | None:
    """Spawn Prefect's temporary API now, unless a server is configured (or one was started already).

    Call it before anything imports Prefect: Prefect reads ``PREFECT_API_URL`` once.
    """
    if _started:
        return _started[0]
    if os.environ.get("PREFECT_API_URL"):
        return None  # a real server (params.yaml prefect.api_url, or the environment)
    _seed_database(settings)
    port = processes.free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app"]
    command += ["--host", processes.LOOPBACK, "--port", str(port), "--log-level", "error", "--lifespan", "on"]
    # What Prefect's SubprocessASGIServer sets: no UI, and only the services a temporary server runs.
    server_env = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    log = settings.state / "prefect" / "temporary-server.log"
    api = TemporaryAPI(
        processes.start(command, log, env={**os.environ, **server_env}), f"http://{processes.LOOPBACK}:{port}/api", log
    )
    os.environ["PREFECT_API_URL"] = api.url
    os.environ["PREFECT_UI_URL"] = ""  # no "View at" links to a UI that does not run and ends with the process
    # Registered before Prefect is imported, so it runs after Prefect's own exit handlers.
    atexit.register(api.stop)
    _started.append(api)
    return api


def migrated_database() -> Path:
    """Where this environment keeps its once-migrated, empty Prefect database (per Prefect version)."""
    version = importlib.metadata.version("prefect")
    return Path(sys.prefix) / "share" / "mlops-platform" / f"prefect-{version}.db"


def _seed_database(settings: Settings) -> None:
    """A new state folder's Prefect database, copied from the migrated one when this environment has it."""
    if os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL"):
        return  # a database of the user's own choosing
    database, migrated = settings.state / "prefect" / "prefect.db", migrated_database()
    if not database.exists() and migrated.exists():
        database.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated, database)


def migrate_once() -> Path:
    """Migrate an empty Prefect database with Prefect's own command and keep it for new state folders."""
    target = migrated_database()
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_DATABASE")}
        command = [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"]
        subprocess.run(command, env={**env, "PREFECT_HOME": home}, check=True, capture_output=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        # SQLite's backup: one consistent file, whatever its journal still held.
        with closing(sqlite3.connect(Path(home) / "prefect.db")) as source, closing(sqlite3.connect(partial)) as copy:
            source.backup(copy)
        partial.replace(target)
    return target


def wait_for_prefect_api() -> None:
    """Before the first flow: the temporary API this process started, if any, is up."""
    for api in _started:
        api.wait()


def prepare(settings: Settings) -> None:
    """Import the libraries while the temporary API starts, and create the MLflow store; then wait for the API.

    The MLflow store is created here too (on SQLite, its tables and migrations): the
    first training would create it anyway, and a service started during that training
    must find it complete, not race to create it.
    """
    from features.store import import_feast

    import_feast()  # Feast's own way in, which skips typeguard's import-time work
    for name in LIBRARIES:
        importlib.import_module(name)
    registry.client(settings).search_experiments(max_results=1)
    wait_for_prefect_api()


if __name__ == "__main__":
    print(f"Prefect's database, migrated once for new state folders: {migrate_once()}")
