"""Climb the ladder in a copy of the project: after a run at Level N, the assessment scores N.

Each run happens in a temporary copy (code, configuration, CI, a fresh git history,
small data); the assessment then inspects that copy's files and live state.
"""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core import registry
from core.environment import tool_environment
from core.settings import load_settings
from maturity.model import COMPONENTS
from maturity.scoring import assess
from pipelines.flows import level0, level1
from pipelines.flows.training import training_pipeline
from tests.maturity.conftest import PROJECT, failing, scores

pytestmark = pytest.mark.e2e


def run_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """What `make pipeline LEVEL=n` runs, as its own process."""
    settings = load_settings(project / "params.yaml", environ={})
    env = {**tool_environment(settings), "PATH": "/usr/bin:/bin", "HOME": str(project)}
    command = [sys.executable, "-m", "pipelines", "--params", str(project / "params.yaml"), *args]
    return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)


def test_levels_0_and_1_score_what_they_run(project_copy: Path) -> None:
    done = run_cli(project_copy, "--set", "level=0", "run")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Maturity Level 0: No MLOps" in done.stdout and "still manual" in done.stdout
    settings = load_settings(project_copy / "params.yaml", overrides={"level": 0}, environ={})
    model = pickle.loads(level0.model_file(settings).read_bytes())  # noqa: S301  (the file this test just wrote)
    assert hasattr(model, "predict_proba")
    assert not (project_copy / "data" / "raw").exists()  # Level 0 stores no data
    typo = run_cli(project_copy, "--set", "level=4", "run")
    assert typo.returncode == 2 and "level: Input should be 0, 1, 2 or 3" in typo.stderr

    at_zero = assess(project_copy)
    assert at_zero.live and scores(at_zero) == dict.fromkeys(COMPONENTS, 0), failing(at_zero, 1)
    # The state folder exists, so the project's configuration alone no longer counts.
    dvc = next(e for e in at_zero.components[0].evidence[2] if e.probe == "dvc_in_sync")
    assert dvc.status == "fail"

    tracked = level1.run(load_settings(project_copy / "params.yaml", overrides={"level": 1}, environ={}))
    run = registry.client(settings).get_run(tracked.run_id)
    assert run.data.tags["maturity_level"] == "1" and run.data.tags["data_version"].startswith("sha256:")
    assert run.data.metrics["roc_auc"] == pytest.approx(tracked.metrics["roc_auc"]) and tracked.metrics["roc_auc"] > 0.7

    at_one = assess(project_copy)
    assert scores(at_one) == dict.fromkeys(COMPONENTS, 1), failing(at_one, 2)
    evidence = {e.probe: e for c in at_one.components for e in c.evidence[1]}
    assert tracked.run_id[:8] in evidence["tracked_runs"].detail
    assert evidence["logged_model"].detail.startswith("1 logged model")


@pytest.mark.slow
def test_level_2_scores_2_and_dvc_is_checked_not_assumed(project_copy: Path) -> None:
    params = str(project_copy / "params.yaml")
    result = training_pipeline(load_settings(params, {"level": 2}))
    assert result.level == 2 and result.feature_service == ""
    assert result.registration.alias == "champion"
    settings = load_settings(params, environ={})
    assert not settings.feast_dir.exists()  # no feature store below Level 3

    at_two = assess(project_copy)
    assert scores(at_two) == dict.fromkeys(COMPONENTS, 2), failing(at_two, 3)
    model_development = {e.probe: e for e in at_two.components[1].evidence[3]}
    assert "1 model family" in model_development["model_selection"].detail  # Level 2 tunes one family

    # A shifted week: the alert fires, ranks the drifted features, and nothing retrains.
    shifted = training_pipeline(load_settings(params, {"level": 2, "data.scenario": "covariate_shift"}))
    alert = shifted.drift_alert
    assert alert is not None and alert.drifted and alert.alert_file is not None
    assert {"annual_income", "loan_amount"} & {name.split(" ")[0] for name in alert.ranked[:6]}
    assert Path(alert.html).exists() and Path(alert.alert_file).exists()
    client = registry.client(settings)
    experiment = client.get_experiment_by_name(settings.mlflow.experiment)
    runs = client.search_runs([experiment.experiment_id], "tags.mlflow.parentRunId IS NULL")
    assert {r.data.tags["trigger"] for r in runs} == {"manual"}  # a person started every run
    hints = {e.probe: e for c in assess(project_copy).components for e in c.evidence[4]}["ranked_drift"]
    assert hints.status == "pass" and "root-cause hints" in hints.detail

    # DVC is checked, not assumed: without it the feature table's practice no longer shows.
    shutil.rmtree(project_copy / ".dvc")
    without = assess(project_copy).components[0]
    assert next(e for e in without.evidence[2] if e.probe == "dvc_in_sync").status == "fail"
    assert [p.name for p, shown in without.practices[2] if shown] == ["data validation"]


# Level 3 is the loop: tests/pipelines/test_loop.py runs it once, then assesses the project it ran in.
