"""The integration tier: the team stack (PostgreSQL, Redis, S3, MLflow, Prefect) on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from infra.loopback import TeamStack, team_stack


@pytest.fixture(scope="session")
def team(request: pytest.FixtureRequest) -> Iterator[TeamStack]:
    """One stack for the tier, started once, stopped (every server) when the tier ends.

    What it started and how long it took go to the terminal summary, for CI's log.
    """
    report = request.config.pluginmanager.get_plugin("terminalreporter")
    started = time.perf_counter()
    with team_stack() as stack:
        names = ", ".join(f"{s.name} (pid {s.pid})" for s in stack.servers)
        up = time.perf_counter() - started
        yield stack
    if report is not None:
        report.write_line(
            f"team stack: started {names} on 127.0.0.1 in {up:.0f} s; all stopped after "
            f"{time.perf_counter() - started:.0f} s"
        )
