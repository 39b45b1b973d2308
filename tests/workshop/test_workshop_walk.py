"""The workshop walked alone, in order, from a fresh clone: each module's commands give what its page promises.

A ``git clone`` of the committed HEAD into a temporary folder, with the project's
environment linked in (``.venv`` and the Data Docs assets: installing them is
``make setup``'s business, timed on its own), then the commands of
``docs/workshop/0*.md`` in order, as a participant types them. The one concession is
size: ``MLOPS_PARAMS`` points every command at a copy of ``params.yaml`` with fewer
applications, a smaller search and a roomy latency budget, so the walk takes minutes
on a busy 2-core machine; the outcomes the pages promise do not depend on size. Two
commands are left out for time, each covered elsewhere (noted where they would run).

At the end every UI is checked in headless Chromium with no network but loopback
(``make check-uis``). ``MLOPS_UI_SHOTS`` names a folder for its screenshots;
``MLOPS_WALK_TIMES`` a file for the time of every step.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.long]

PROJECT = Path(__file__).resolve().parents[2]
WALK_PARAMS: dict[str, dict[str, Any]] = {
    "data": {"history_weeks": 8, "applications_per_week": 800, "customers": 2000},
    "training": {
        "holdout_weeks": 2,
        "search": {
            "budget": 4,
            "validation_weeks": 1,
            "primary_metric": "roc_auc",
            "space": {
                "logistic_regression": {"C": [0.3, 3.0], "max_iter": [1000]},
                # Searched (Level 3 selects among families) but too small to win: on this little
                # data a boosted model can top the validation week and then lose the holdout and
                # the gate's monotonicity rules, which would leave the canary demo no challenger.
                "gradient_boosting": {"learning_rate": [0.05], "max_iter": [5], "max_leaf_nodes": [7]},
            },
        },
    },
    "gate": {"latency_budget_ms": 10_000.0},  # measured rules are noisy on a shared machine
    "monitoring": {"min_rows": 200},
}


@dataclass
class Walk:
    clone: Path
    env: dict[str, str]
    times: dict[str, float]

    def run(self, step: str, command: str, code: int = 0, timeout: float = 1200) -> str:
        started = time.perf_counter()
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=self.clone,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        self.times[step] = round(time.perf_counter() - started, 1)
        output = done.stdout + done.stderr
        assert done.returncode == code, f"{step}: `{command}` exited {done.returncode}, not {code}:\n{output[-4000:]}"
        return output

    def assess(self, step: str) -> dict[str, str]:
        """``make assess``; the score column of its table, component -> score text."""
        output = self.run(step, "make assess")
        scores = {}
        for line in output.splitlines():
            found = re.match(
                r"\W*(Data management|Model development|Deployment|Monitoring|Governance)\W+(\d[^│┃|]*)", line
            )
            if found:
                scores[found.group(1)] = found.group(2).strip()
        assert len(scores) == 5, output[-3000:]
        return scores


def _report(w: Walk, name: str) -> dict[str, Any]:
    """The assessment ``make assess`` last wrote for ``name`` (``project``, or a REPO folder's name)."""
    path = w.clone / ".state" / "reports" / "maturity" / name / "maturity.json"
    return cast(dict[str, Any], json.loads(path.read_text()))


def _levels(scores: dict[str, str]) -> dict[str, int]:
    return {c: int(s.split()[0]) for c, s in scores.items()}


@pytest.fixture
def walk(tmp_path: Path) -> Walk:
    clone = tmp_path / "mlops-ladder"
    subprocess.run(["git", "clone", "-q", str(PROJECT), str(clone)], check=True)
    (clone / ".venv").symlink_to(PROJECT / ".venv")
    assets = PROJECT / "features" / "docs_assets" / "node_modules"
    if assets.is_dir():
        (clone / "features" / "docs_assets" / "node_modules").symlink_to(assets)
    tree = yaml.safe_load((clone / "params.yaml").read_text())
    for section, values in WALK_PARAMS.items():
        tree[section] = {**tree.get(section, {}), **values}
    params = clone / "workshop-walk.params.yaml"  # untracked: the clone's tree stays clean
    params.write_text(yaml.safe_dump(tree, sort_keys=False))
    drop = ("MLOPS_", "MLFLOW_", "PREFECT_", "BENTOML_", "MAKE", "MFLAGS", "DVC_", "FEAST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["MLOPS_PARAMS"] = str(params)
    return Walk(clone, env, {})


def _tracked_changes(clone: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout


Check = Callable[[Walk], None]


def module_1(w: Walk) -> None:
    w.run("1 make clean", "make clean")
    assert _tracked_changes(w.clone) == "", "make clean touched tracked files"
    before = w.assess("1 assess before")
    # Files only, nothing seen running: every verified score is 0, what the files show is provisional.
    assert set(_levels(before).values()) == {0}, before
    assert _report(w, "project")["components"]["data_management"]["provisional"] == 3, before
    out = w.run("1 pipeline LEVEL=0", "make pipeline LEVEL=0")
    assert "Maturity Level 0: No MLOps" in out and (w.clone / ".state" / "level0" / "model.pkl").exists()
    w.run(
        "1 exercise 3 (pickle)",
        ".venv/bin/python -c \"import pickle; pickle.load(open('.state/level0/model.pkl','rb'))\"",
    )
    after = w.assess("1 assess after")
    assert set(_levels(after).values()) == {0}, after


def module_2(w: Walk) -> None:
    out = w.run("2 pipeline LEVEL=1", "make pipeline LEVEL=1")
    assert "Maturity Level 1: DevOps for ML" in out
    out = w.run("2 exercise 3 (load model)", ".venv/bin/python -m docs.workshop.exercises.load_model")
    assert "refused: Model is missing inputs" in out
    env = w.run("2 make -s env", 'eval "$(make -s env)" && command -v dvc prefect mlflow')
    assert env.count(".venv/bin/") == 3, env
    assert set(_levels(w.assess("2 assess")).values()) == {1}


def module_3(w: Walk) -> None:
    out = w.run("3 pipeline LEVEL=2", "make pipeline LEVEL=2")
    assert "registered version 1 as 'champion'" in out, out[-3000:]
    out = w.run("3 exercise 1 (again)", "make pipeline LEVEL=2")
    assert re.search(r"rejected by beats_champion .*equal, not enough", out.replace("\n", " ")), out[-3000:]
    # make reports the failed command (exit 1) and exits 2 itself: the page says both.
    out = w.run("3 exercise 2 (quality incident)", "make pipeline LEVEL=2 SCENARIO=quality_incident", code=2)
    assert "Pipeline stopped before training" in out and "Error 1" in out
    assert {"annual_income.not_null", "credit_utilization.range", "region.categories"} <= set(
        re.findall(r"\b\w+\.\w+(?= \()", out)
    ), out[-3000:]
    assert "Traceback" not in out
    assert list((w.clone / "data" / "quarantine").glob("week_*"))
    # Exercise 3 (the covariate-shift alert) is left to tests/maturity/test_maturity_levels.py,
    # which runs it and checks the ranking: a Level 2 run costs minutes here.
    out = w.run("3 exercise 4 (reproduce)", "make reproduce VERSION=1")
    assert "match" in out, out[-2000:]
    assert set(_levels(w.assess("3 assess")).values()) == {2}
    out = w.run(
        "3 copy without .dvc",
        "rm -rf .state/copy && mkdir -p .state/copy && git archive HEAD | tar -x -C .state/copy"
        " && rm -rf .state/copy/.dvc && make assess REPO=.state/copy",
    )
    copy = _report(w, "copy")["components"]["data_management"]
    assert (copy["score"], copy["provisional"]) == (0, 3), out[-3000:]  # a copy that never ran verifies nothing
    found = [e for level in copy["evidence"].values() for e in level if e["probe"] == "data_versioning"]
    assert found and found[0]["detail"].startswith("dataset digests"), found  # DVC is checked, not assumed


def module_4(w: Walk) -> None:
    # First Level 3's training alone (it applies the feature store the service reads; the gate
    # refuses a model equal to the champion), then the canary alone on the champion's own data.
    out = w.run("4 make train", "make train")
    assert "equal, not enough" in out, out[-3000:]
    out = w.run("4 make canary-demo", "make canary-demo", timeout=1800)
    assert "demo: one promotion, one rollback" in out, out[-4000:]
    out = w.run("4 make pipeline (the loop)", "make pipeline", timeout=2400)
    assert "The Level-3 loop finished" in out, out[-4000:]
    story = w.clone / ".state" / "reports" / "story.html"
    assert story.exists()
    # Any of the three endings the page describes is honest; the summary and the story page say which.
    endings = r"was promoted to champion|was rolled back by its canary|did not become a challenger"
    said = re.search(endings, re.sub(r"[\s│]+", " ", out))
    assert said, out[-4000:]
    assert said.group(0) in story.read_text()
    # `make feast-ls` (three feast CLI calls, minutes on a busy machine) is left out: exercise 1
    # reads the same feature store through the serving path.
    out = w.run("4 exercise 1 (two read paths)", ".venv/bin/python -m docs.workshop.exercises.online_vs_table")
    assert out.rstrip().endswith("identical"), out[-2000:]
    w.run("4 make audit", "make audit")
    scores = _levels(w.assess("4 assess"))
    assert all(score >= 3 for score in scores.values()), scores  # the demo's broken version caps nothing


def module_5(w: Walk) -> None:
    out = w.run("5 make assess (Level 4 column)", "make assess")
    report = (w.clone / ".state" / "reports" / "maturity" / "project" / "maturity.md").read_text()
    assert "✓ `ranked_drift`" in report and "✓ `self_healing`" in report, report[-3000:]
    assert "(preview)" in out


@pytest.mark.timeout(3600)  # the whole workshop, five modules and the UIs: about 12 minutes on a busy 2-core machine
def test_the_workshop_from_a_fresh_clone(walk: Walk) -> None:
    started = time.perf_counter()
    try:
        for module in (module_1, module_2, module_3, module_4, module_5):
            module(walk)
        shots = os.environ.get("MLOPS_UI_SHOTS") or str(walk.clone / ".state" / "reports" / "ui-check")
        out = walk.run("UIs in Chromium, offline", f"make check-uis SHOTS={shots}", timeout=1800)
        assert "0 failed" in out, out[-4000:]
    finally:
        walk.times["total"] = round(time.perf_counter() - started, 1)
        if target := os.environ.get("MLOPS_WALK_TIMES"):
            Path(target).write_text(json.dumps(walk.times, indent=1))
        print(json.dumps(walk.times, indent=1))
    shutil.rmtree(walk.clone / ".state", ignore_errors=True)
