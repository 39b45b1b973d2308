"""Start and stop a server process on loopback: for the demo, the benchmark and the tests.

Each server runs in its own session so that stopping it (SIGTERM to the group, then
SIGKILL if it lingers) takes its children along; BentoML's worker is such a child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from core.environment import tool_environment
from core.settings import PROJECT_ROOT, Settings


def service_command(port: int | str) -> list[str]:
    """``bentoml serve`` for the credit service on 127.0.0.1:port."""
    bentoml = str(PROJECT_ROOT / ".venv" / "bin" / "bentoml")
    return [bentoml, "serve", "serving.service:CreditService", "--host", "127.0.0.1", "--port", str(port)]


def start(command: list[str], settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` from the project root with the tool environment of ``settings``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **tool_environment(settings)}
    with log.open("wb") as output:
        return subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_until(
    process: subprocess.Popen[bytes] | None, url: str, statuses: tuple[int, ...] = (200,), seconds: float = 120
) -> None:
    """Poll ``url`` until it answers one of ``statuses``; fail early if the process (if ours) dies."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code in statuses:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer {statuses} within {seconds} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group; SIGKILL if it has not gone in 20 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
