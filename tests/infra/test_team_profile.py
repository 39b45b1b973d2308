"""The same code on servers: training and serving with the team profile, against real servers.

The workspace's params.yaml is the project's; only the environment differs from a local
run (MLOPS_PROFILE=team plus the stack's endpoints and credentials). The test then looks
where the state must have gone: runs and aliases in MLflow's PostgreSQL database,
artifacts and the DVC remote in the S3 store, the flow run in Prefect's PostgreSQL
database, the Feast registry in PostgreSQL and the online features in Redis; and in the
local state folder, none of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import psycopg
import psycopg.sql
import pytest
import redis

from core import registry
from core.environment import tool_environment
from core.settings import ENV_OVERRIDES, PROJECT_ROOT, Settings, load_settings
from features import store
from features.ingest import load_raw
from infra.loopback import BUCKET, TeamStack
from infra.workpool import REFRESH_CRON
from monitoring import windows
from serving import controller
from serving.schema import request_bodies
from serving.shared_log import scan_log
from tests.conftest import ROOMY_GATE, SMALL_DATA, SMALL_TRAINING, write_params
from tests.serving.conftest import Server, register_model

pytestmark = pytest.mark.integration


def query(stack: TeamStack, database: str, sql: str | psycopg.sql.Composed) -> list[tuple[Any, ...]]:
    with psycopg.connect(stack.database_url(database).replace("+psycopg", "")) as connection:
        return connection.execute(sql).fetchall()


def s3_keys(stack: TeamStack, prefix: str) -> list[str]:
    client: Any = stack.s3_client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def team_environment(stack: TeamStack) -> dict[str, str]:
    """This process's environment, without local endpoint overrides, plus the stack's."""
    base = {k: v for k, v in os.environ.items() if k not in ENV_OVERRIDES and k != "MLOPS_PARAMS"}
    return {**base, **stack.environment()}


def post(url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{url}/predict", content=json.dumps(body), headers={"content-type": "application/json"}, timeout=30
    )


def wait_for_champion(url: str, version: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while (seen := httpx.post(f"{url}/canary", timeout=10).json())["champion_version"] != version:
        assert time.monotonic() < deadline, f"the service still serves {seen}"
        time.sleep(0.2)


@dataclass(frozen=True)
class Trained:
    params: Path
    env: dict[str, str]
    output: str


@pytest.fixture(scope="module")
def trained(team: TeamStack, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """The pipeline, once for the module, exactly as `make pipeline` runs it: a new process, the same command."""
    # The small-data workspace every end-to-end test uses.
    params = write_params(tmp_path_factory.mktemp("team"), data=SMALL_DATA, training=SMALL_TRAINING, gate=ROOMY_GATE)
    env = team_environment(team)
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "--params", str(params), "run"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Trained(params, env, done.stdout)


def logged_requests(settings: Settings, request_ids: list[str], seconds: float = 60) -> list[dict[str, Any]]:
    """These requests' records, read from the shared log as the monitor reads it, once all are there."""
    deadline = time.monotonic() + seconds
    while True:
        found = {e["request_id"]: e for e in scan_log(settings).entries if e["request_id"] in request_ids}
        if len(found) == len(request_ids):
            return [found[r] for r in request_ids]
        assert time.monotonic() < deadline, f"{len(found)} of {len(request_ids)} requests in the shared log"
        time.sleep(0.5)


def test_train_and_serve_with_the_team_profile(
    team: TeamStack, trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    params, env = trained.params, dict(trained.env)
    settings: Settings = load_settings(params, environ=env)
    assert settings.profile == "team" and settings.tracking_uri == team.mlflow_url

    # Runs, the registered model and its alias are rows in MLflow's PostgreSQL database.
    runs = query(team, "mlflow", "SELECT status FROM runs")
    assert len(runs) == 1 + settings.training.search.budget and {s for (s,) in runs} == {"FINISHED"}
    aliases = query(team, "mlflow", "SELECT alias, version FROM registered_model_aliases")
    assert aliases == [("champion", 1)], trained.output[-4000:]  # the run's summary says why not
    # The model's files went through the MLflow server into the S3 store; the data to DVC's S3 remote.
    assert any(key.endswith("MLmodel") for key in s3_keys(team, "mlflow/"))
    assert len(s3_keys(team, f"dvc/{settings.project}/files/md5/")) >= settings.data.history_weeks
    # The flow run is recorded by the Prefect server, in PostgreSQL.
    flow_runs = query(team, "prefect", "SELECT f.name, r.state_type FROM flow_run r JOIN flow f ON f.id = r.flow_id")
    assert ("training-pipeline", "COMPLETED") in flow_runs
    # Feast's registry is in PostgreSQL, its online store in Redis.
    assert query(team, "feast", "SELECT count(*) FROM feature_services")[0][0] >= 1
    host, port = env["FEAST_REDIS_CONNECTION"].split(",")[0].split(":")
    online = redis.Redis(host=host, port=int(port), password=team.redis_password)
    assert int(online.dbsize()) > 0
    # The feast CLI, given the same environment (`make env`), reads that registry.
    feast = str(Path(sys.executable).with_name("feast"))
    listed = subprocess.run(
        [feast, "--chdir", "features/feature_repo", "feature-services", "list"],
        cwd=PROJECT_ROOT,
        env={**env, **tool_environment(settings)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0 and settings.features.service_name in listed.stdout, listed.stderr[-2000:]
    # Nothing of it landed in the local state folder.
    state = settings.state
    assert not (state / "mlflow" / "mlflow.db").exists() and not (state / "feast" / "registry.db").exists()
    assert not (state / "feast" / "online_store.db").exists() and not any((state / "dvc-remote").iterdir())

    # The team's way to run it: deployed to a work pool, picked up and run by a worker.
    def run(*command: str, timeout: float = 120) -> None:
        done = subprocess.run(
            command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-3000:]}"

    prefect = str(Path(sys.executable).with_name("prefect"))
    run(sys.executable, "-m", "infra.workpool", "--pool", "team-pool", "--params", str(params))
    # Batch freshness: the feature refresh is deployed beside the training, on its schedule.
    scheduled = query(
        team,
        "prefect",
        "SELECT f.name, s.schedule->>'cron', s.active FROM deployment d JOIN flow f ON f.id = d.flow_id "
        "JOIN deployment_schedule s ON s.deployment_id = d.id",
    )
    assert ("feature-refresh", REFRESH_CRON, True) in scheduled, scheduled
    run(prefect, "deployment", "run", f"training-pipeline/{settings.deployment}")
    env["PREFECT_WORKER_QUERY_SECONDS"] = "1"
    run(prefect, "worker", "start", "--pool", "team-pool", "--run-once", timeout=900)
    pooled = query(
        team,
        "prefect",
        "SELECT r.state_type FROM flow_run r JOIN work_queue q ON q.id = r.work_queue_id "
        "JOIN work_pool p ON p.id = q.work_pool_id WHERE p.name = 'team-pool'",
    )
    assert pooled == [("COMPLETED",)]
    # A second training on the same data: its runs land in PostgreSQL too; the gate keeps the champion.
    assert len(query(team, "mlflow", "SELECT run_uuid FROM runs")) == 2 * (1 + settings.training.search.budget)
    assert query(team, "mlflow", "SELECT alias, version FROM registered_model_aliases") == [("champion", 1)]

    # Serving, with the same environment: the champion from the MLflow server, features from Redis.
    for key, value in team.environment().items():
        monkeypatch.setenv(key, value)
    server = Server(settings)
    try:
        server.wait_until("/readyz", 200, seconds=180)
        regular = load_raw(settings)["customer_id"].value_counts().index[:3]
        raw = load_raw(settings)
        requests = request_bodies(raw[raw["customer_id"].isin(regular)], settings.schema_, 3, one_per_entity=True)
        answers = [post(server.url, body) for body in requests]
        assert [a.status_code for a in answers] == [200] * 3
        assert {a.headers["x-model-version"] for a in answers} == {"1"}
        # The log goes to the shared store in segments, within serving.log_flush_seconds; the monitor's reader finds it.
        logged = logged_requests(settings, [a.json()["request_id"] for a in answers])
        assert all(record["features"]["events_90d"] > 0 for record in logged)
        # Empty Redis and the same customer has no history: the features came from there.
        online.flushall()
        again = post(server.url, requests[0])
        assert again.status_code == 200
        assert logged_requests(settings, [again.json()["request_id"]])[0]["features"]["events_90d"] == 0

        # A promotion moves the aliases in PostgreSQL, and the running service follows.
        # The challenger carries what the governance policy asks of a champion, as a trained one does.
        frame = store.training_frame(store.open_store(settings), settings, raw)
        challenger = register_model(settings, frame, registry.CHALLENGER, governed=True)
        assert controller.promote(settings, challenger) == "1"
        assert sorted(query(team, "mlflow", "SELECT alias, version FROM registered_model_aliases")) == [
            ("champion", int(challenger)),
            ("previous", 1),
        ]
        wait_for_champion(server.url, challenger)
        last = post(server.url, requests[1])
        assert last.headers["x-model-version"] == challenger
    finally:
        server.stop()  # SIGTERM: the service writes what its log still buffers
    # The monitor, on any machine, reads every answer back from S3, and joins the labels delivered there.
    predictions = windows.load_predictions(settings)
    answered = [*(a.json()["request_id"] for a in answers), again.json()["request_id"], last.json()["request_id"]]
    assert sorted(predictions[windows.REQUEST_ID]) == sorted(answered)
    label = settings.schema_.label
    windows.write_labels(settings, "team", pd.DataFrame({windows.REQUEST_ID: answered, label: [0, 1, 0, 1, 1]}))
    joined = windows.with_labels(predictions, windows.load_labels(settings), label)
    assert dict(zip(joined[windows.REQUEST_ID], joined[label], strict=True)) == dict(
        zip(answered, [0, 1, 0, 1, 1], strict=True)
    )
    loop = f"loop/{settings.project}"  # the project's own folder of the shared loop store
    assert s3_keys(team, f"{loop}/predictions/") and s3_keys(team, f"{loop}/labels/labels_team.parquet")
    # Nothing of the loop's traffic state on the local disk.
    assert not settings.predictions_dir.exists() and not settings.labels_dir.exists()


def shared_state(stack: TeamStack, env: dict[str, str]) -> dict[str, Any]:
    """Everything the team shares, as values to compare: every row of the Feast registry's and
    MLflow's databases, Prefect's flow runs, every key of the online store, every object in the bucket."""

    def tables(database: str) -> dict[str, list[tuple[Any, ...]]]:
        names = query(stack, database, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        every = psycopg.sql.SQL("SELECT * FROM {}")  # each table's every column; rows in a fixed order
        return {
            name: sorted(query(stack, database, every.format(psycopg.sql.Identifier(name))), key=repr)
            for (name,) in names
        }

    host, port = env["FEAST_REDIS_CONNECTION"].split(",")[0].split(":")
    online = redis.Redis(host=host, port=int(port), password=stack.redis_password)
    client: Any = stack.s3_client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return {
        "feast": tables("feast"),
        "mlflow": tables("mlflow"),
        "prefect": sorted(query(stack, "prefect", "SELECT id, state_type FROM flow_run"), key=repr),
        "redis": {key: online.dump(key) for key in sorted(online.keys("*"))},
        "s3": sorted((item["Key"], item["ETag"]) for page in pages for item in page.get("Contents", [])),
    }


def test_reproduce_under_the_team_profile_writes_nothing_shared(team: TeamStack, trained: Trained) -> None:
    before = shared_state(team, trained.env)
    assert before["feast"]["feature_services"] and before["mlflow"]["registered_model_aliases"]
    # `make reproduce VERSION=1`, with the team's environment.
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "--params", str(trained.params), "reproduce", "--version", "1"],
        cwd=PROJECT_ROOT,
        env=trained.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0 and "reproduced: metrics match" in done.stdout, done.stdout + done.stderr[-3000:]
    after = shared_state(team, trained.env)
    # Row for row, alias for alias, key for key: the registry, the runs, the features, the bucket.
    for store_name in before:
        assert after[store_name] == before[store_name], f"reproduce changed the shared {store_name} state"
