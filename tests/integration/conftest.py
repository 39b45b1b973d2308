"""The integration tier: the team stack (PostgreSQL, Redis, S3, MLflow, Prefect) on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from infra.loopback import TeamStack, team_stack

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
