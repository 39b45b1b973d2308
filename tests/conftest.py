"""Shared fixtures. Every test works in its own temporary workspace and state folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.environment import TELEMETRY_OFF
from core.settings import DEFAULT_PARAMS, ENV_OVERRIDES, PARAMS_VARIABLE, Settings, load_settings

# Small but realistic: enough rows for the label-rate bounds and a two-class holdout.
SMALL_DATA = {"history_weeks": 5, "applications_per_week": 400, "customers": 800}
# Small weeks: two of them make a holdout large enough for the calibration rule to be fair.
SMALL_TRAINING = {"holdout_weeks": 2}


def pytest_configure(config: pytest.Config) -> None:
    # Prefect and DVC read these when first imported, which happens during collection:
    # point them at a throwaway folder so no test touches ~/.prefect or /var/tmp/dvc.
    home = Path(tempfile.mkdtemp(prefix="mlops-tests-"))
    os.environ.update(
        {
            "PREFECT_HOME": str(home / "prefect"),
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
            "DVC_SITE_CACHE_DIR": str(home / "dvc-site-cache"),
            **TELEMETRY_OFF,
        }
    )
    config.stash[_HOME] = home


KINDS = ("unit", "data", "model", "e2e", "integration")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test says what kind it is (a marker of KINDS), so the tree can mirror the components."""
    unmarked = sorted({item.location[0] for item in items if not any(item.get_closest_marker(k) for k in KINDS)})
    if unmarked:
        raise pytest.UsageError(f"test modules without a kind marker ({', '.join(KINDS)}): {', '.join(unmarked)}")
    # The longest first: with several workers (make test-slow), the last one to finish
    # then is not the walk that started when everything else was done. The integration
    # modules (minutes each, a stack of servers to start) come next.
    items.sort(
        key=lambda item: (item.get_closest_marker("long") is None, item.get_closest_marker("integration") is None)
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Stop Prefect's temporary API server while pytest's output streams are still
    # open; left to its atexit hook, it logs to a closed stream.
    import logging
    import sys

    if "prefect.server.api.server" in sys.modules:
        from prefect.logging.handlers import APILogWorker
        from prefect.server.api.server import SubprocessASGIServer

        APILogWorker.drain_all(timeout=5)  # send buffered run logs before the API goes away
        # Prefect's console handler holds a test's captured stream, closed by now.
        logging.getLogger("prefect").disabled = True

        for server in list(SubprocessASGIServer._instances.values()):
            server.stop()


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(config.stash.get(_HOME, ""), ignore_errors=True)


_HOME = pytest.StashKey[Path]()


@pytest.fixture(autouse=True)
def _no_endpoint_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's exported `make env` must not send tests to the real state folder."""
    for variable in [*ENV_OVERRIDES, PARAMS_VARIABLE]:
        monkeypatch.delenv(variable, raising=False)


def write_params(folder: Path, **sections: dict[str, Any]) -> Path:
    """Copy the project's params.yaml into ``folder``, merging ``sections`` over it."""
    tree = yaml.safe_load(DEFAULT_PARAMS.read_text())
    for name, values in sections.items():
        tree[name] = {**tree.get(name, {}), **values}
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def write_policy(folder: Path, **stage_rules: Any) -> Path:
    """Copy governance/policy.yaml into ``folder``, with ``stage_rules`` merged over both stages' rules."""
    from core.settings import PROJECT_ROOT

    tree = yaml.safe_load((PROJECT_ROOT / "governance" / "policy.yaml").read_text())
    for rules in tree["stages"].values():
        rules.update(stage_rules)
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


# Timing rules are measured, so noisy on a busy machine; tests of other things give them room.
ROOMY_GATE = {"latency_budget_ms": 10_000.0}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A project workspace with a small-data params.yaml and nothing else."""
    write_params(tmp_path, data=SMALL_DATA, training=SMALL_TRAINING, gate=ROOMY_GATE)
    return tmp_path


@pytest.fixture
def settings(workspace: Path) -> Settings:
    return load_settings(workspace / "params.yaml")


@pytest.fixture
def git_workspace(workspace: Path) -> Iterator[Path]:
    """The workspace as a git repository with one commit, as a cloned template is."""
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=tests", "-c", "user.email=tests@example.invalid", *args],
            cwd=workspace,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", "params.yaml")
    git("commit", "-qm", "workspace")
    yield workspace


# What the training flow hands to promotion: complete lineage, and data that passed its
# contract (the governance policy checks both).
LINEAGE = {
    "data_version": "0" * 32 + ".dir",
    "features_version": "1" * 32 + ".dir",
    "feature_service": "credit_default_v1",
    "feature_views": "entity_history",
    "data_validation": "passed",
}


def validated(settings: Settings, frame: Any, data_version: str = LINEAGE["data_version"]) -> dict[str, Any]:
    """``frame`` accepted as one batch of ``data_version`` after the real validation suite passed it:
    the evidence the training flow logs with a run, and which the governance policy reads."""
    from features.validation import validate_batch
    from features.validation_records import validation_evidence, write_record

    batch = settings.raw_dir / "week_2026-01-05.parquet"
    batch.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(batch, index=False)
    outcome = validate_batch(frame, settings, batch.stem)
    assert outcome.success, [str(f) for f in outcome.failures]
    write_record(batch, outcome)
    return validation_evidence([batch], data_version)


@pytest.fixture(scope="module")
def promotion_frame() -> Any:
    """Eight weeks of applications, enough for a gate and a policy to judge fairly."""
    import pandas as pd

    from core.synthetic import LenderConfig, generate_week

    config = LenderConfig(applications_per_week=900, customers=3000)
    return pd.concat([generate_week(config, w) for w in range(1, 9)], ignore_index=True)
