"""The training flow end to end: Prefect, GX, DVC and MLflow, all real, in a temporary workspace."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
import yaml

from core import registry
from core.environment import tool_environment
from core.settings import load_settings
from core.synthetic import generate_week
from features import engineering, store
from features.ingest import lender_config, load_raw
from features.versioning import current_version, restore_version, version_raw_data, workspace_status
from governance import audit
from governance.evidence import collect
from pipelines.flows.training import training_pipeline
from pipelines.steps.data import DataValidationError
from pipelines.steps.register import registration_of_flow_run
from pipelines.steps.reproduce import reproduce
from pipelines.steps.tracking import FLOW_RUN_TAG

pytestmark = pytest.mark.e2e

PROJECT = Path(__file__).resolve().parents[2]


def finished_runs(tracking_uri: str) -> list[mlflow.entities.Run]:
    mlflow.set_tracking_uri(tracking_uri)
    return list(mlflow.search_runs(experiment_names=["credit-default"], output_format="list"))


def parent_runs(tracking_uri: str) -> list[mlflow.entities.Run]:
    return [r for r in finished_runs(tracking_uri) if "mlflow.parentRunId" not in r.data.tags]


def test_the_flow_trains_on_versioned_validated_data_then_stops_on_a_bad_batch(git_workspace: Path) -> None:
    params = str(git_workspace / "params.yaml")
    settings = load_settings(params)

    result = training_pipeline(settings)

    # Every batch passed and is versioned; the workspace matches what DVC recorded.
    assert len(result.batches) == settings.data.history_weeks and all(b.passed for b in result.batches)
    assert result.data_version == current_version(settings)
    assert workspace_status(settings) == {}
    # MLflow holds a finished run that names its data version and code version.
    (run,) = [r for r in finished_runs(settings.tracking_uri) if "mlflow.parentRunId" not in r.data.tags]
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith(settings.state.as_uri())  # not ./mlruns
    assert run.data.tags["data_version"] == result.data_version
    assert len(run.data.tags["git_commit"]) == 40
    assert run.data.metrics["roc_auc"] == pytest.approx(result.metrics["roc_auc"]) and run.data.metrics["roc_auc"] > 0.7
    assert {"pr_auc", "f1", "log_loss", "brier"} <= set(run.data.metrics)
    model = mlflow.pyfunc.load_model(result.model_uri)
    assert model.metadata.signature is not None
    # Lineage to the feature store: the service and views it was trained on, and their data.
    tags = run.data.tags
    assert tags["feature_service"] == "credit_default_v1" and tags["feature_views"] == "entity_history"
    assert tags["features_version"] == current_version(settings, settings.features_dir)
    # What the run registered reads back from MLflow by its Prefect flow run, as the deployed monitor reads
    # a retraining that ran on a worker.
    read_back = registration_of_flow_run(settings, tags[FLOW_RUN_TAG])
    assert (read_back.version, read_back.alias, read_back.passed) == ("1", "champion", True)
    assert set(model.metadata.get_input_schema().input_names()) == set(store.model_feature_columns(settings).all)
    # The online store was loaded: a known customer gets history, not nulls.
    raw = load_raw(settings)
    regular = raw["customer_id"].value_counts().index[:5]
    online = store.online_features(store.open_store(settings), settings, raw[raw.customer_id.isin(regular)].tail(5))
    assert online["events_90d"].gt(0).all() and online["loan_amount_mean_90d"].notna().all()

    # The gate made the first model champion; its lineage tags resolve to real things.
    assert result.candidates == settings.training.search.budget
    assert registry.aliases(settings) == {"champion": "1"}
    version = registry.client(settings).get_model_version(settings.mlflow.registered_model, "1")
    assert registry.client(settings).get_run(version.tags["training_run"]).info.status == "FINISHED"
    restored = restore_version(settings, version.tags["data_version"], git_workspace / "restored")
    assert len(list(restored.glob("*.parquet"))) == settings.data.history_weeks
    assert store.open_store(settings).get_feature_service(version.tags["feature_service"]) is not None
    nested = mlflow.search_runs(
        experiment_names=["credit-default"], filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert len(nested) == settings.training.search.budget
    # Governed: card, explanation and compliance report logged with the version's run.
    governed = {a.path for a in registry.client(settings).list_artifacts(version.tags["training_run"], "governance")}
    expected = {"model_card.md", "model_card.html", "importance.png", "fairness.json", "compliance_champion.json"}
    assert {f"governance/{name}" for name in {*expected, "data_validation.json"}} <= governed
    assert version.tags["policy_champion"] == "passed"
    # The data's validation is evidence on the run, for this exact data version, batch by batch.
    assert collect(settings, "1").data_validation.startswith(f"passed ({settings.data.history_weeks} batches")

    # A second run with no new data is idempotent on the data side, and the gate
    # refuses to pile up a version that is no better: the champion stays.
    again = training_pipeline(settings)
    assert again.data_version == result.data_version and again.batches == []
    assert again.registration.version is None and "beats_champion" in again.registration.verdict
    assert registry.aliases(settings) == {"champion": "1"}
    (second,) = [r for r in parent_runs(settings.tracking_uri) if r.info.run_id != run.info.run_id]
    refused = registration_of_flow_run(settings, second.data.tags[FLOW_RUN_TAG])
    assert (refused.version, refused.alias, refused.passed) == (None, None, False)
    assert "beats_champion" in refused.verdict
    trail = audit.verify(settings)
    assert trail.ok, trail.problems
    assert [e.event for e in trail.entries] == [
        "gate_verdict",
        "registration",
        "policy_verdict",
        "promotion",
        "gate_verdict",
    ]

    # The data grows; version 1 still reproduces from its recorded lineage.
    extra = generate_week(lender_config(settings), settings.data.history_weeks + 1)
    extra.to_parquet(settings.raw_dir / "week_2099-01-05.parquet", index=False)
    version_raw_data(settings)
    reproduction = reproduce(settings, "1")
    assert reproduction.matches, reproduction.differences
    (settings.raw_dir / "week_2099-01-05.parquet").unlink()
    version_raw_data(settings)

    # The data-quality incident: quarantined, named, and no training run is added.
    with pytest.raises(DataValidationError) as stopped:
        training_pipeline(load_settings(params, {"data.scenario": "quality_incident"}))
    assert "annual_income.not_null" in str(stopped.value)
    (folder,) = settings.quarantine_dir.iterdir()
    assert {p.suffix for p in folder.iterdir()} == {".parquet", ".json", ".html"}
    assert len(parent_runs(settings.tracking_uri)) == 2


def test_a_broken_feature_transformation_stops_the_pipeline(
    git_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = str(git_workspace / "params.yaml")
    settings = load_settings(params)
    real = engineering.entity_history

    def percent_bug(*args: Any, **kwargs: Any) -> pd.DataFrame:
        table = real(*args, **kwargs)
        return table.assign(credit_utilization_mean_90d=table["credit_utilization_mean_90d"] * 100)

    monkeypatch.setattr(engineering, "entity_history", percent_bug)
    with pytest.raises(DataValidationError) as stopped:
        training_pipeline(settings)
    assert "credit_utilization_mean_90d.range" in str(stopped.value)
    assert not store.history_table_path(settings).exists()  # nothing broken was published
    assert any(p.name.startswith("entity_history") for p in settings.quarantine_dir.iterdir())
    assert parent_runs(settings.tracking_uri) == []


@pytest.mark.slow
def test_the_command_line_exits_non_zero_on_a_quality_incident(workspace: Path) -> None:
    """What `make pipeline SCENARIO=quality_incident` runs, as a separate process."""
    settings = load_settings(workspace / "params.yaml")
    env = {**tool_environment(settings), "PATH": "/usr/bin:/bin", "HOME": str(workspace)}
    command = [sys.executable, "-m", "pipelines", "--params", str(workspace / "params.yaml")]
    done = subprocess.run([*command, "run"], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Training pipeline finished" in done.stdout
    # The CLI exports MLFLOW_TRACKING_URI before the flow reads its settings again;
    # artifacts must still land in the state folder, not in ./mlruns of the cwd.
    mlflow.set_tracking_uri(settings.tracking_uri)
    experiment = mlflow.get_experiment_by_name(settings.mlflow.experiment)
    assert experiment is not None and experiment.artifact_location.startswith(settings.state.as_uri())
    assert not (PROJECT / "mlruns").exists()

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
