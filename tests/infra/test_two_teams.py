"""Two teams on one stack: the lender and the churn example, one set of exports, no shared state.

Both params files run against the same servers with the same environment (a team shares
one stack); each one's ``project`` namespaces what it writes: the Feast project (registry
rows and Redis keys), the MLflow experiment and registered model, the Prefect deployments,
and its folders of the DVC remote and of the loop store. The test trains both, deploys
both, writes both loops' prediction log and labels (under the same batch name), then does
all of it again for the churn project alone, and compares every row, key and object of the
lender's before and after: unchanged. Each project then reads back only its own loop state.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg.sql
import pytest
import redis
import yaml

from core.settings import DEFAULT_PARAMS, PROJECT_ROOT, Settings, load_settings
from infra.loopback import BUCKET, TeamStack
from monitoring import windows
from serving.shared_log import open_log, scan_log
from tests.conftest import ROOMY_GATE, SMALL_DATA, SMALL_TRAINING, write_params
from tests.infra.test_team_profile import query, team_environment

pytestmark = pytest.mark.integration

CHURN = PROJECT_ROOT / "examples" / "churn"
BUDGET = 1  # candidates per search: what is tested is where the state goes, not the search


def small_search() -> dict[str, Any]:
    """The lender's search: one unweighted logistic regression (fast, and on the small data well calibrated)."""
    search = yaml.safe_load(DEFAULT_PARAMS.read_text())["training"]["search"]
    one = {"C": [0.3], "class_weight": [None], "max_iter": [1000]}
    return {**search, "budget": BUDGET, "space": {"logistic_regression": one}}


def churn_workspace(folder: Path) -> Path:
    """The example as shipped, in a folder of its own (its data and state land beside it), a small search."""
    shutil.copy(CHURN / "renewals.parquet", folder / "renewals.parquet")
    tree = yaml.safe_load((CHURN / "params.yaml").read_text())
    tree["training"]["search"]["budget"] = BUDGET
    tree["gate"].update(ROOMY_GATE)
    (folder / "params.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    return folder / "params.yaml"


def start(*command: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(*processes: subprocess.Popen[str], timeout: float = 600) -> list[str]:
    """Wait for processes started together (two teams at once); each must succeed. Their outputs."""
    outputs = []
    for process in processes:
        output, _ = process.communicate(timeout=timeout)
        assert process.returncode == 0, f"{process.args!r}: {output[-4000:]}"
        outputs.append(output)
    return outputs


def train(params: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return start(sys.executable, "-m", "pipelines", "--params", str(params), "run", env=env)


def deploy(params: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return start(sys.executable, "-m", "infra.workpool", "--pool", "team-pool", "--params", str(params), env=env)


def write_loop(settings: Settings, tag: str) -> list[str]:
    """What a project's service and label feed write to the loop store: a log segment, a labels batch."""
    ids = [f"{settings.project}-{tag}-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    log = open_log(settings)
    for request_id in ids:
        log.append({"request_id": request_id, "features": {}, "probability": 0.5})
    log.close()  # writes the segment
    # The same batch name for both projects: a shared prefix would overwrite the other's labels.
    labels = pd.DataFrame({windows.REQUEST_ID: ids, settings.schema_.label: [0, 1, 0]})
    windows.write_labels(settings, "week_1", labels)
    return ids


def rows(stack: TeamStack, database: str, table: str, column: str, values: list[Any]) -> list[tuple[Any, ...]]:
    """Every row of ``table`` whose ``column`` is one of ``values`` (compared as text), in a fixed order."""
    sql = psycopg.sql.SQL("SELECT * FROM {} WHERE {}::text = ANY(%s)").format(
        psycopg.sql.Identifier(table), psycopg.sql.Identifier(column)
    )
    with psycopg.connect(stack.database_url(database).replace("+psycopg", "")) as connection:
        return sorted(connection.execute(sql, [[str(v) for v in values]]).fetchall(), key=repr)


def columns(stack: TeamStack, database: str) -> dict[str, set[str]]:
    """Each table of the database's public schema, with its column names."""
    found: dict[str, set[str]] = {}
    listed = "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
    for table, column in query(stack, database, listed):
        found.setdefault(table, set()).add(column)
    return found


def project_state(stack: TeamStack, env: dict[str, str], settings: Settings) -> dict[str, Any]:
    """Every row, key and object of one project on the shared stack, as values to compare."""
    # MLflow: its experiment, the runs in it and every row keyed by them; its registered model's rows.
    experiments = [row[0] for row in rows(stack, "mlflow", "experiments", "name", [settings.mlflow.experiment])]
    runs = [
        row[0] for row in query(stack, "mlflow", "SELECT run_uuid, experiment_id FROM runs") if row[1] in experiments
    ]
    tracked: dict[str, Any] = {}
    for table, names in columns(stack, "mlflow").items():
        if "run_uuid" in names:
            tracked[table] = rows(stack, "mlflow", table, "run_uuid", runs)
        elif "experiment_id" in names:
            tracked[table] = rows(stack, "mlflow", table, "experiment_id", experiments)
        elif table.startswith(("registered_model", "model_version")) and "name" in names:
            tracked[table] = rows(stack, "mlflow", table, "name", [settings.mlflow.registered_model])
    # Feast: every registry row of its project.
    feast = {
        table: rows(stack, "feast", table, "project_id", [settings.project])
        for table, names in columns(stack, "feast").items()
        if "project_id" in names
    }
    # Prefect: its deployments (named by the project) and their schedules.
    deployments = rows(stack, "prefect", "deployment", "name", [settings.deployment])
    ids = [row[0] for row in deployments]
    prefect = {
        "deployment": deployments,
        "schedule": rows(stack, "prefect", "deployment_schedule", "deployment_id", ids),
    }
    # Redis: Feast's online keys end with the project's name.
    host, port = env["FEAST_REDIS_CONNECTION"].split(",")[0].split(":")
    online = redis.Redis(host=host, port=int(port), password=stack.redis_password)
    keys = sorted(online.scan_iter(match=b"*" + settings.project.encode()))
    # S3: its folders of the DVC remote and of the loop store, and its experiment's artifacts.
    prefixes = [f"dvc/{settings.project}/", f"loop/{settings.project}/", *(f"mlflow/{e}/" for e in experiments)]
    client: Any = stack.s3_client()
    objects = [
        (item["Key"], item["ETag"])
        for prefix in prefixes
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        for item in page.get("Contents", [])
    ]
    return {
        "mlflow": tracked,
        "feast": feast,
        "prefect": prefect,
        "redis": {key: online.dump(key) for key in keys},
        "s3": sorted(objects),
    }


def test_two_projects_on_one_stack_never_touch_each_other(
    team: TeamStack, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [time.monotonic()]  # the phases' wall times, printed at the end (pytest -s)
    env = team_environment(team)  # one set of exports for both teams
    lender_params = write_params(
        tmp_path_factory.mktemp("lender"),
        data=SMALL_DATA,
        training={**SMALL_TRAINING, "search": small_search()},
        gate=ROOMY_GATE,
    )
    churn_params = churn_workspace(tmp_path_factory.mktemp("churn"))
    lender, churn = (load_settings(p, environ=env) for p in (lender_params, churn_params))
    assert lender.project != churn.project and lender.profile == churn.profile == "team"

    # Both teams train and deploy to the one work pool, all at once.
    *trained, _, _ = finish(
        train(lender_params, env), train(churn_params, env), deploy(lender_params, env), deploy(churn_params, env)
    )
    clock.append(time.monotonic())
    for key, value in team.environment().items():  # the loop store's S3 endpoint and keys, in this process
        monkeypatch.setenv(key, value)
    lender_ids, churn_ids = write_loop(lender, "first"), write_loop(churn, "first")

    before = project_state(team, env, lender)
    theirs = project_state(team, env, churn)
    # Something of each project in every store: the comparison below is not of empty states.
    for state, output in zip((before, theirs), trained, strict=True):
        assert state["mlflow"]["runs"] and state["mlflow"]["registered_model_aliases"], output[-3000:]
        assert state["feast"]["feature_services"] and state["redis"]
        assert len(state["prefect"]["deployment"]) == 2 and state["prefect"]["schedule"]
        assert any(key.startswith("dvc/") for key, _ in state["s3"])
        assert any(key.startswith("loop/") for key, _ in state["s3"])
        assert any(key.startswith("mlflow/") for key, _ in state["s3"])

    # The churn team trains again, deploys again and writes its loop again: the lender's state stays as it was.
    clock.append(time.monotonic())
    finish(train(churn_params, env), deploy(churn_params, env))
    churn_ids += write_loop(churn, "second")
    clock.append(time.monotonic())
    after = project_state(team, env, lender)
    for store_name in before:
        assert after[store_name] == before[store_name], f"the churn project changed the lender's {store_name} state"
    again = project_state(team, env, churn)
    assert len(again["mlflow"]["runs"]) == 2 * len(theirs["mlflow"]["runs"])  # it did train again

    # Each deployment runs its own params file; each project reads back only its own loop.
    parameters = dict(query(team, "prefect", "SELECT name, parameters->>'settings' FROM deployment"))
    assert parameters[lender.deployment] == str(lender_params) and parameters[churn.deployment] == str(churn_params)
    # (The lender's folder may hold more: test_team_profile.py, in the same session, is the same project.)
    for settings, ids, others in ((lender, lender_ids, churn_ids), (churn, churn_ids, lender_ids)):
        logged = {e["request_id"] for e in scan_log(settings).entries}
        labelled = set(windows.load_labels(settings)[windows.REQUEST_ID])
        assert set(ids) <= logged and set(ids[-3:]) <= labelled  # its latest week_1 batch
        assert not logged & set(others) and not labelled & set(others)
    # Every Redis key is one project's or the other's (Feast ends each with its project's name).
    host, port = env["FEAST_REDIS_CONNECTION"].split(",")[0].split(":")
    online = redis.Redis(host=host, port=int(port), password=team.redis_password)
    assert all(key.endswith((lender.project.encode(), churn.project.encode())) for key in online.scan_iter())
    phases = ("both trained and deployed", "loops written, state read", "churn again")
    print(", ".join(f"{name} {b - a:.0f} s" for name, a, b in zip(phases, clock, clock[1:], strict=False)))
