"""The Level-3 loop as a team runs it, on real servers: two replicas, deployments, a worker.

The team stack on loopback; two service replicas on two ports with the traffic spread
over both (by customer, as a hashing load balancer would); the monitor deployed on a
schedule and run by a Prefect worker; on its trigger, the retraining run as the training
deployment on the same pool; the challenger it registers canaried across both replicas
from the one shared canary state, and promoted. Then the test looks where every piece of
the loop's state went: all of it on the servers, none of it on the local disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg.sql
import pytest

from core import loop_store, processes, registry
from core.settings import PROJECT_ROOT, load_settings
from features import ingest
from infra.loopback import TeamStack, team_stack
from infra.workpool import training_deployment
from monitoring import policy
from pipelines.steps.traffic import serve_week
from serving.analysis import parse_metrics
from tests.conftest import ROOMY_GATE, write_params
from tests.infra.test_team_profile import query, s3_keys, team_environment, wait_for_champion
from tests.serving.conftest import Server

pytestmark = pytest.mark.integration

WEEK_REQUESTS = 500  # a week of traffic: one monitoring window each (monitoring.window_rows)


@pytest.fixture(scope="module")
def stack() -> Iterator[TeamStack]:
    """A stack of its own: this module trains, retrains and promotes, which the other modules'
    checks of the registry must not see. (In a folder of its own under /tmp, which
    PostgreSQL's user can enter, unlike pytest's.)"""
    with team_stack() as started:
        yield started


def flow_run_state(stack: TeamStack, flow: str) -> list[tuple[str, str, str]]:
    """(state type, state name, work pool) of every run of ``flow``, oldest first."""
    statement = psycopg.sql.SQL(
        "SELECT r.state_type, r.state_name, coalesce(p.name, '') FROM flow_run r JOIN flow f ON f.id = r.flow_id "
        "LEFT JOIN work_queue q ON q.id = r.work_queue_id LEFT JOIN work_pool p ON p.id = q.work_pool_id "
        "WHERE f.name = {} ORDER BY r.created"
    ).format(psycopg.sql.Literal(flow))
    rows = query(stack, "prefect", statement)
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def test_the_team_runs_the_loop_across_two_replicas_with_deployments_and_a_worker(
    stack: TeamStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = write_params(
        tmp_path,
        data={"history_weeks": 6, "applications_per_week": 600, "customers": 1500},
        training={
            "holdout_weeks": 2,
            "search": {
                "budget": 1,
                "validation_weeks": 1,
                "space": {"logistic_regression": {"C": [0.3], "max_iter": [1000]}},
            },
        },
        gate={**ROOMY_GATE, "min_improvement": 0.0},
        monitoring={
            "window_rows": WEEK_REQUESTS,
            "min_rows": 200,
            "simulation": {"requests_per_week": WEEK_REQUESTS},
        },
    )
    env = team_environment(stack)
    for key, value in stack.environment().items():
        monkeypatch.setenv(key, value)
    settings = load_settings(params, environ=env)

    def run(*command: str, timeout: float = 300) -> str:
        done = subprocess.run(
            command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
        return done.stdout

    # The first champion, trained as `make train` would on a team member's machine.
    run(sys.executable, "-m", "pipelines", "--params", str(params), "run", timeout=900)
    assert registry.alias_version(settings, registry.CHAMPION) == "1"

    replicas = [Server(settings, name="replica-a"), Server(settings, name="replica-b")]
    worker: subprocess.Popen[bytes] | None = None
    try:
        for replica in replicas:
            replica.wait_until("/readyz", 200, seconds=180)
        urls = [replica.url for replica in replicas]
        # The scheduled monitor, across both replicas, beside the training and refresh deployments.
        # Schedules that cannot fall due during the test: the runs below are the ones it starts.
        never = "0 0 1 1 *"
        run(
            *(sys.executable, "-m", "infra.workpool", "--pool", "team-pool", "--params", str(params)),
            *("--refresh-cron", never, "--monitor-cron", never, "--services", *urls),
        )
        scheduled = query(
            stack,
            "prefect",
            "SELECT f.name, d.parameters->'services', d.parameters->>'retrain_deployment', s.active "
            "FROM deployment d JOIN flow f ON f.id = d.flow_id JOIN deployment_schedule s ON s.deployment_id = d.id",
        )
        assert ("monitor", urls, training_deployment(str(params)), True) in scheduled, scheduled

        # A normal week, then two drifted ones, spread over both replicas; labels delivered to the shared store.
        weeks = ingest.traffic_weeks(settings, 3)
        for week, scenario in zip(weeks, ("none", "covariate_shift", "covariate_shift"), strict=True):
            traffic = serve_week(settings, urls, week, scenario)
            assert traffic.errors == 0 and traffic.sent == WEEK_REQUESTS, traffic.statuses
        served = [parse_metrics(httpx.get(f"{url}/metrics", timeout=10).text)["champion"].answered for url in urls]
        assert sum(served) == 3 * WEEK_REQUESTS and min(served) > WEEK_REQUESTS / 2, served

        # A run of the scheduled monitor, now (`prefect deployment run`), told what the traffic was,
        # so it sends the next week to both replicas during the canary; a worker picks it up, and
        # then the retraining it starts.
        prefect = str(Path(sys.executable).with_name("prefect"))
        told = {"traffic": {"week": str(weeks[-1].number), "scenario": "covariate_shift"}}
        run(prefect, "deployment", "run", f"monitor/{settings.deployment}", "--params", json.dumps(told))
        worker = processes.start(
            [prefect, "worker", "start", "--pool", "team-pool"],
            tmp_path / "worker.log",
            env={**env, "PREFECT_WORKER_QUERY_SECONDS": "1"},
            cwd=PROJECT_ROOT,
        )
        deadline = time.monotonic() + 900
        while not (monitors := flow_run_state(stack, "monitor")) or monitors[-1][0] not in (
            "COMPLETED",
            "FAILED",
            "CRASHED",
            "CANCELLED",
        ):
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-4000:]
            assert time.monotonic() < deadline, f"the monitor's run is still {monitors}"
            time.sleep(2)
        log_text = (tmp_path / "worker.log").read_text()
        assert monitors == [("COMPLETED", "Promoted", "team-pool")], log_text[-6000:]
        for url in urls:  # both replicas serve the new champion, and both took the canary's traffic
            wait_for_champion(url, "2")
            assert parse_metrics(httpx.get(f"{url}/metrics", timeout=10).text)["challenger"].answered > 0, url
    finally:
        if worker is not None:
            processes.stop(worker)
        for replica in replicas:
            replica.stop()  # SIGTERM: each writes what its log still buffers

    # The retraining ran as the training deployment, on the pool, as the monitor's subflow.
    trainings = flow_run_state(stack, "training-pipeline")
    assert trainings[-1] == ("COMPLETED", "Completed", "team-pool"), trainings
    linked = query(
        stack,
        "prefect",
        "SELECT count(*) FROM flow_run r JOIN flow f ON f.id = r.flow_id "
        "WHERE f.name = 'training-pipeline' AND r.parent_task_run_id IS NOT NULL",
    )
    assert linked == [(1,)]
    # The registry, in PostgreSQL: the retrained version is champion, the first kept for rollback.
    aliases = dict(query(stack, "mlflow", "SELECT alias, version FROM registered_model_aliases"))
    assert aliases == {"champion": 2, "previous": 1}, aliases
    canary = loop_store.read_json(settings, loop_store.CANARY_STATE)
    assert canary is not None and "v2 promoted" in canary["note"], canary
    # The monitor's memory, on the shared store: three windows judged, the retraining recorded.
    memory = policy.read_state(settings)
    assert memory.windows_judged >= 3 and memory.last_retrain_at is not None, memory
    # The log: segments from both replicas; the labels beside it.
    loop = f"loop/{settings.project}"  # the project's part of the loop store
    segments = s3_keys(stack, f"{loop}/predictions/")
    writers = {key.rsplit("/", 1)[-1].split("-")[-3] for key in segments}  # <time>-<host>-<pid>-<token>-<n>
    assert len(writers) >= 2, segments[:5]
    assert len(s3_keys(stack, f"{loop}/labels/")) >= 4  # three weeks and the canary's
    assert s3_keys(stack, f"{loop}/{loop_store.CANARY_STATE}") and s3_keys(stack, f"{loop}/{loop_store.MONITOR_STATE}")
    # And nothing of the loop on the local disk.
    local: list[Any] = [
        settings.predictions_dir,
        settings.labels_dir,
        loop_store.local_path(settings, loop_store.CANARY_STATE),
        loop_store.local_path(settings, loop_store.MONITOR_STATE),
    ]
    assert [str(path) for path in local if path.exists()] == []
