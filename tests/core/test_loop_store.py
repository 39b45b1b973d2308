"""The loop store follows the S3 endpoint and credentials the environment names *now*.

Two S3 servers on loopback (moto's, each its own process, as the team stack starts it).
fsspec keeps one client per set of constructor arguments for the life of the process; a
client built from the environment alone kept talking to the first store after the
environment named another, as it did when two team stacks ran in one test worker and the
loop read the other stack's monitor state.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core import loop_store
from core.settings import load_settings
from infra.loopback import BUCKET, TeamStack

pytestmark = pytest.mark.unit


@pytest.fixture
def two_stores(tmp_path: Path) -> Iterator[list[dict[str, str]]]:
    """Two S3 servers, each with the bucket and its own credentials; stopped at the end."""
    stacks = [TeamStack(tmp_path / f"store{n}") for n in range(2)]
    try:
        for stack in stacks:
            (stack.folder / "tmp").mkdir(parents=True)
            stack.start_s3()
        yield [stack.s3_environment() for stack in stacks]
    finally:
        for stack in stacks:
            stack.stop_all()


def test_a_document_is_read_from_the_store_the_environment_names_now(
    workspace: Path, two_stores: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(workspace / "params.yaml", {"loop_store": f"s3://{BUCKET}/loop"})
    first, second = two_stores
    for key, value in first.items():
        monkeypatch.setenv(key, value)
    loop_store.write_json(settings, loop_store.MONITOR_STATE, {"store": "first"})
    assert loop_store.read_json(settings, loop_store.MONITOR_STATE) == {"store": "first"}

    for key, value in second.items():
        monkeypatch.setenv(key, value)
    assert loop_store.read_json(settings, loop_store.MONITOR_STATE) is None  # the second store has none yet
    loop_store.write_json(settings, loop_store.MONITOR_STATE, {"store": "second"})
    assert loop_store.read_json(settings, loop_store.MONITOR_STATE) == {"store": "second"}

    for key, value in first.items():
        monkeypatch.setenv(key, value)
    assert loop_store.read_json(settings, loop_store.MONITOR_STATE) == {"store": "first"}
