"""Start the BentoML service on a loopback port: for the loop, the canary demo, the benchmark and the tests.

The process helpers themselves (a free port, readiness polling, stopping a process
group) are ``core/processes.py``; this adds what is the service's: its command, its
environment (the settings' tool environment) and its readiness URL.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from core import processes
from core.environment import tool_environment
from core.settings import PROJECT_ROOT, Settings

SERVICE = "serving.service:CreditService"


def service_command(port: int | str) -> list[str]:
    """``bentoml serve`` for the service on 127.0.0.1:port."""
    bentoml = str(PROJECT_ROOT / ".venv" / "bin" / "bentoml")
    return [bentoml, "serve", SERVICE, "--host", processes.LOOPBACK, "--port", str(port)]


def replica_home(settings: Settings, port: int | str) -> Path:
    """The BentoML home of the service on ``port``: one per replica.

    BentoML keeps its Prometheus counters in files under its home
    (``prometheus_multiproc_dir``) and empties that folder when a server starts. Two
    replicas on one machine under one home would wipe each other's counters at start and
    then report each other's requests as their own, so a controller adding every
    replica's ``/metrics`` would count each request twice.
    """
    return settings.state / "bentoml" / f"replica-{port}"


def start(command: list[str], settings: Settings, log: Path, port: int | str | None = None) -> subprocess.Popen[bytes]:
    """Start ``command`` from the project root with the tool environment of ``settings``;
    a service on ``port`` gets its own BentoML home (``replica_home``)."""
    env = {**os.environ, **tool_environment(settings)}
    if port is not None:
        env["BENTOML_HOME"] = str(replica_home(settings, port))
    return processes.start(command, log, env=env, cwd=PROJECT_ROOT)


def start_service(settings: Settings, log: Path, port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start the service on ``port`` (a free one if None) and wait until it is ready; return it and its URL.

    A service that never becomes ready is stopped before the error is raised.
    """
    port = port or processes.free_port()
    url = f"http://{processes.LOOPBACK}:{port}"
    server = start(service_command(port), settings, log, port)
    try:
        processes.wait_until(server, f"{url}/readyz", log=log)
    except BaseException:
        processes.stop(server)
        raise
    return server, url


class ServiceStart:
    """A service started now and waited for later, so its start overlaps what runs in between.

    The loop starts it as soon as the first training has served its features, while the
    model is still searched and governed; the service becomes ready when the champion
    alias is set (``ServingRuntime``). ``ready()`` starts it if nothing did, and waits.
    """

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings, self.log = settings, log
        self.port = processes.free_port()
        self.url = f"http://{processes.LOOPBACK}:{self.port}"
        self.server: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.server is None:
            self.server = start(service_command(self.port), self.settings, self.log, self.port)

    def ready(self) -> tuple[subprocess.Popen[bytes], str]:
        if self.server is None:
            self.server = start(service_command(self.port), self.settings, self.log, self.port)
        processes.wait_until(self.server, f"{self.url}/readyz", log=self.log)
        return self.server, self.url

    def stop(self) -> None:
        if self.server is not None:
            processes.stop(self.server)
