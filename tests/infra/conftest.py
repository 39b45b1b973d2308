"""Helpers for the infra checks (offline tools from PyPI and npm), and the team stack of the integration tier."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT
from infra.loopback import TeamStack, team_stack

VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
K8S = PROJECT_ROOT / "infra" / "k8s"
NODE_CHECK = K8S / "check"


def node_check_ready() -> Path:
    """The Argo Rollouts schema checker, installed by `make setup-integration`.

    Without node it is skipped on a developer's machine; in CI (CI=true) it must run.
    """
    if shutil.which("node") and (NODE_CHECK / "node_modules" / "@kubernetes-models").is_dir():
        return NODE_CHECK / "validate.mjs"
    message = "the Argo Rollouts schema checker is not installed: run `make setup-integration` (needs npm)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def schema_check(path: Path, builtin_schema: str) -> subprocess.CompletedProcess[str]:
    """check-jsonschema (PyPI, offline) against one of its vendored schemas, e.g. ``vendor.compose-spec``."""
    return subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", builtin_schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


_NOTE = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def team(request: pytest.FixtureRequest) -> Iterator[TeamStack]:
    """One stack for the tier, started once, stopped (every server) when the tier ends.

    What it started and how long it took go to the terminal summary, for CI's log.
    """
    started = time.perf_counter()
    with team_stack() as stack:
        names = ", ".join(f"{s.name} (pid {s.pid})" for s in stack.servers)
        up = time.perf_counter() - started
        yield stack
    request.config.stash[_NOTE] = (
        f"team stack: started {names} on 127.0.0.1 in {up:.0f} s; all stopped after "
        f"{time.perf_counter() - started:.0f} s"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    note = config.stash.get(_NOTE, None)
    if note:
        terminalreporter.write_line(note)
