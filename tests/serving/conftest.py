"""A real BentoML server on a free loopback port, over a workspace with a registered champion."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from core import processes, registry
from core.settings import Settings, load_settings
from core.synthetic import generate_week
from features import engineering, store
from features.ingest import lender_config
from governance import review
from pipelines.steps import tracking
from pipelines.steps.training import fit_and_score, time_split
from serving import launch
from tests.conftest import LINEAGE, validated, write_params, write_policy

PROJECT = Path(__file__).resolve().parents[2]


def prepare_workspace(folder: Path) -> tuple[Settings, pd.DataFrame]:
    """Raw data, features in Feast (offline and online), nothing trained yet."""
    # Data this small scores below the real metric floors: here the policy checks everything else.
    # The floors and ceilings are the gate's, which the policy re-checks (one bar, one place).
    policy = write_policy(folder, minimums={}, maximums={})
    write_params(
        folder,
        data={"history_weeks": 5, "applications_per_week": 400, "customers": 300},
        gate={"minimums": {}, "maximums": {}},
        governance={"policy_file": str(policy)},
        serving={"workers": 1},  # one process per test server: these test behaviour, not throughput
    )
    # environ={}: MLflow's set_tracking_uri exports MLFLOW_TRACKING_URI, so an earlier
    # module's store would otherwise override this workspace's (module fixtures run
    # before the per-test environment clean-up).
    settings = load_settings(folder / "params.yaml", environ={})
    raw = pd.concat([generate_week(lender_config(settings), w) for w in range(1, 6)], ignore_index=True)
    table = engineering.entity_history(raw, settings.schema_, settings.features)
    store.history_table_path(settings).parent.mkdir(parents=True)
    table.to_parquet(store.history_table_path(settings), index=False)
    feature_store = store.apply_definitions(settings)
    store.materialize(feature_store, settings, table["event_timestamp"].max().to_pydatetime())
    return settings, store.training_frame(feature_store, settings, raw)


def register_model(
    settings: Settings,
    frame: pd.DataFrame,
    alias: str | None,
    columns: engineering.FeatureColumns | None = None,
    governed: bool = False,
) -> str:
    """Train a model on ``frame`` and register it behind ``alias``.

    ``governed``: also log what the governance policy asks of a champion (fairness,
    explanation, model card), as the pipeline does; a promotion checks it.
    """
    columns = columns or store.model_feature_columns(settings)
    split = time_split(frame, settings.schema_, settings.training.holdout_weeks)
    model = fit_and_score(
        split, settings.schema_, columns, "logistic_regression", {"max_iter": 1000}, settings.training
    )
    evidence = validated(settings, frame) if governed else None
    logged = tracking.log_training_run(
        settings, model, data_version=LINEAGE["data_version"], training_frame=frame, data_validation=evidence
    )
    tags = {"purpose": "serving tests", "training_run": logged.run_id, **LINEAGE}
    version = registry.register(settings, logged.model_uri, logged.run_id, tags, alias)
    if governed:
        review.assess_version(settings, version, model.model, columns, split.holdout)
        review.publish_card(settings, version)
    return version


class Server:
    """``bentoml serve`` on a free loopback port, over ``settings``'s workspace."""

    def __init__(self, settings: Settings, name: str = "bentoml-test") -> None:
        self.settings = settings
        self.port = processes.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = settings.state / f"{name}.log"  # a second replica over the same workspace names its own
        self.process = launch.start(launch.service_command(self.port), settings, self.log, self.port)

    def wait_until(self, path: str, status: int, seconds: float = 90) -> None:
        try:
            processes.wait_until(self.process, self.url + path, (status,), seconds, log=self.log)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}; server log: {self.log.read_text()[-3000:]}") from error

    def stop(self) -> None:
        processes.stop(self.process)


@contextlib.contextmanager
def champion_server(folder: Path) -> Iterator[tuple[Server, pd.DataFrame]]:
    """A server over a fresh workspace with a champion, stopped on exit."""
    settings, frame = prepare_workspace(folder)
    register_model(settings, frame, registry.CHAMPION)
    server = Server(settings)
    try:
        server.wait_until("/readyz", 200)
        yield server, frame
    finally:
        server.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, pd.DataFrame]]:
    """A server over a champion; tests add challengers and canary states as they need."""
    with champion_server(tmp_path_factory.mktemp("serving")) as running:
        yield running
