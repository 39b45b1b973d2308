"""The integration tier: the team stack (PostgreSQL, Redis, S3, MLflow, Prefect) on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from infra.loopback import TeamStack, team_stack


@pytest.fixture(scope="session")
def team() -> Iterator[TeamStack]:
    """One stack for the tier, started once, stopped (every server) when the tier ends."""
    started = time.perf_counter()
    with team_stack() as stack:
        names = ", ".join(f"{s.name} (pid {s.pid})" for s in stack.servers)
        print(f"\nteam stack up in {time.perf_counter() - started:.0f} s: {names}")
        yield stack
