"""The training flow end to end: Prefect, GX, DVC and MLflow, all real, in a temporary workspace."""

import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import yaml

from core.environment import tool_environment
from core.settings import load_settings
from pipelines.flows import DataValidationError, training_pipeline
from pipelines.versioning import current_version, workspace_status

PROJECT = Path(__file__).resolve().parents[2]


def finished_runs(tracking_uri: str) -> list[mlflow.entities.Run]:
    mlflow.set_tracking_uri(tracking_uri)
    return list(mlflow.search_runs(experiment_names=["credit-default"], output_format="list"))


def test_the_flow_trains_on_versioned_validated_data_then_stops_on_a_bad_batch(git_workspace: Path) -> None:
    params = str(git_workspace / "params.yaml")
    settings = load_settings(params)

    result = training_pipeline(params=params)

    # Every batch passed and is versioned; the workspace matches what DVC recorded.
    assert len(result.batches) == settings.data.history_weeks and all(b.passed for b in result.batches)
    assert result.data_version == current_version(settings)
    assert workspace_status(settings) == {}
    # MLflow holds a finished run that names its data version and code version.
    (run,) = finished_runs(settings.tracking_uri)
    assert run.info.status == "FINISHED"
    assert run.data.tags["data_version"] == result.data_version
    assert len(run.data.tags["git_commit"]) == 40
    assert run.data.metrics["roc_auc"] == pytest.approx(result.metrics["roc_auc"]) and run.data.metrics["roc_auc"] > 0.7
    assert {"pr_auc", "f1", "log_loss", "brier"} <= set(run.data.metrics)
    model = mlflow.pyfunc.load_model(result.model_uri)
    assert model.metadata.signature is not None

    # A second run with no new data is idempotent on the data side.
    again = training_pipeline(params=params)
    assert again.data_version == result.data_version and again.batches == []

    # The data-quality incident: quarantined, named, and no training run is added.
    with pytest.raises(DataValidationError) as stopped:
        training_pipeline(params=params, overrides={"data.scenario": "quality_incident"})
    assert "annual_income.not_null" in str(stopped.value)
    (folder,) = settings.quarantine_dir.iterdir()
    assert {p.suffix for p in folder.iterdir()} == {".parquet", ".json", ".html"}
    assert len(finished_runs(settings.tracking_uri)) == 2


@pytest.mark.slow
def test_the_command_line_exits_non_zero_on_a_quality_incident(workspace: Path) -> None:
    """What `make pipeline SCENARIO=quality_incident` runs, as a separate process."""
    settings = load_settings(workspace / "params.yaml")
    env = {**tool_environment(settings), "PATH": "/usr/bin:/bin", "HOME": str(workspace)}
    command = [sys.executable, "-m", "pipelines", "--params", str(workspace / "params.yaml")]
    done = subprocess.run([*command, "run"], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Training pipeline finished" in done.stdout

    bad = subprocess.run(
        [*command, "--set", "data.scenario=quality_incident", "run"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert bad.returncode == 1
    assert "credit_utilization.range" in bad.stdout and "region.categories" in bad.stdout
    assert any(settings.quarantine_dir.iterdir())

    typo = subprocess.run(
        [*command, "--set", "training.holdout_weeks=-3", "run"], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert typo.returncode == 2 and "training.holdout_weeks" in typo.stderr
    assert yaml.safe_load((workspace / "params.yaml").read_text())["data"]["scenario"] == "none"
