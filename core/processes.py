"""Servers on loopback: a free port, starting a process in its own session, polling until ready, stopping it.

Used wherever the platform starts a server of its own: the loop's BentoML service,
the canary demo, the benchmarks, the team stack on loopback and the tests. Each server
runs in a new session so that stopping it (SIGTERM to the group, then SIGKILL if it
lingers) takes its children along; BentoML's worker and MLflow's gunicorn are such
children.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def start(
    command: Sequence[str], log: Path, *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own session, its output in ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until(
    process: subprocess.Popen[bytes] | None,
    url: str,
    statuses: tuple[int, ...] = (200,),
    seconds: float = 120,
    log: Path | None = None,
) -> None:
    """Poll ``url`` until it answers one of ``statuses``; fail early if the process (if ours) dies.

    A failure names the log's last lines, when given, so a server that never came up says why.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before {url} answered{_tail(log)}")
        try:
            if httpx.get(url, timeout=2).status_code in statuses:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer {statuses} within {seconds:.0f} s{_tail(log)}")


def _tail(log: Path | None, lines: int = 15) -> str:
    if log is None or not log.exists():
        return ""
    last = log.read_text(errors="replace").splitlines()[-lines:]
    return f"; the end of {log}:\n  " + "\n  ".join(last)


def stop(process: subprocess.Popen[bytes], grace_seconds: float = 20) -> None:
    """SIGTERM to the server's process group; SIGKILL if it has not gone after ``grace_seconds``."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace_seconds)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
