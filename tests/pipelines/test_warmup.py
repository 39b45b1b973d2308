"""The CLI's early start of Prefect's temporary API, for real: a flow runs on it, and the server goes with the process.

Also the two knobs the loop's speed rests on: the native threads of small fits, and
Feast imported without typeguard's instrumentation (which must be left as it was).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.sections import TrainingSettings
from core.settings import Settings
from pipelines.steps.training import SMALL_FIT_ROWS, native_threads

PROJECT = Path(__file__).resolve().parents[2]

RUN_A_FLOW = textwrap.dedent(
    """
    import json, sys
    from core.environment import apply_tool_environment
    from core.settings import load_settings
    from pipelines import warmup

    settings = load_settings(overrides={"state_dir": sys.argv[1]})  # a state folder of its own
    apply_tool_environment(settings)
    api = warmup.start_prefect_api(settings)  # before Prefect is imported
    from prefect import flow

    @flow
    def adds(a: int, b: int) -> int:
        return a + b

    warmup.wait_for_prefect_api()
    import os
    print(json.dumps({"pid": api.process.pid, "url": os.environ["PREFECT_API_URL"], "sum": adds(2, 3)}))
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.e2e
@pytest.mark.slow
def test_a_flow_runs_on_the_early_api_and_the_server_stops_with_the_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    done = subprocess.run(
        [sys.executable, "-c", RUN_A_FLOW, str(tmp_path / "state")],
        cwd=PROJECT,
        env={**env, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["sum"] == 5
    assert result["url"].startswith("http://127.0.0.1:") and result["url"].endswith("/api")
    assert not _alive(result["pid"]), "the temporary API outlived the process that started it"
    assert "View at" not in done.stderr  # no links to a UI that is not served
    assert (tmp_path / "state" / "prefect" / "prefect.db").exists()  # the state folder's database, as before


@pytest.mark.unit
def test_a_configured_server_is_used_as_it_is(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines import warmup

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4299/api")
    monkeypatch.setattr(warmup, "_started", [])
    assert warmup.start_prefect_api(settings) is None
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4299/api"


def _threads_of_blas() -> set[int]:
    from threadpoolctl import threadpool_info

    return {pool["num_threads"] for pool in threadpool_info()}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("configured", "rows", "inside"),
    [("auto", SMALL_FIT_ROWS - 1, {1}), (1, SMALL_FIT_ROWS * 10, {1})],
)
def test_native_threads_are_limited_for_small_fits_or_when_set(
    settings: Settings, configured: int | str, rows: int, inside: set[int]
) -> None:
    training = settings.training.model_copy(update={"native_threads": configured})
    before = _threads_of_blas()
    with native_threads(training, rows):
        assert _threads_of_blas() == inside
    assert _threads_of_blas() == before


@pytest.mark.unit
def test_large_fits_keep_the_libraries_threads(settings: Settings) -> None:
    training: TrainingSettings = settings.training.model_copy(update={"native_threads": "auto"})
    before = _threads_of_blas()
    with native_threads(training, SMALL_FIT_ROWS):
        assert _threads_of_blas() == before


@pytest.mark.unit
def test_feast_comes_in_without_typeguard_and_typeguard_is_left_as_it_was() -> None:
    probe = textwrap.dedent(
        """
        import sys, typeguard
        checked = typeguard.typechecked
        from features.store import import_feast
        feast = import_feast()
        from feast import data_source
        assert typeguard.typechecked is checked, "typeguard's decorator was not put back"
        # An instrumented method's code calls into typeguard; Feast's own does not.
        names = data_source.PushSource.__init__.__code__.co_names
        assert "typeguard" not in names, f"PushSource was instrumented: {names}"
        assert import_feast() is feast
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


@pytest.fixture
def migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the environment's once-migrated Prefect database."""
    from pipelines import warmup

    database = tmp_path / "migrated.db"
    database.write_bytes(b"migrated")
    monkeypatch.setattr(warmup, "migrated_database", lambda: database)
    return database


@pytest.mark.unit
def test_a_new_state_folder_starts_from_the_migrated_database(
    settings: Settings, migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines import warmup

    monkeypatch.delenv("PREFECT_API_DATABASE_CONNECTION_URL", raising=False)
    database = settings.state / "prefect" / "prefect.db"
    warmup._seed_database(settings)
    assert database.read_bytes() == b"migrated"
    database.write_bytes(b"in use")
    warmup._seed_database(settings)  # a state folder's own database is never replaced
    assert database.read_bytes() == b"in use"


@pytest.mark.unit
def test_a_database_of_ones_own_is_left_alone(
    settings: Settings, migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines import warmup

    monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL", "postgresql+asyncpg://127.0.0.1/prefect")
    warmup._seed_database(settings)
    assert not (settings.state / "prefect" / "prefect.db").exists()
