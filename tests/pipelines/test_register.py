"""Gate plus registry, on a real MLflow store: who gets which alias, and who gets nothing."""

import json
from typing import Any

import pandas as pd
import pytest
from mlflow.models import infer_signature

from core import registry
from core.settings import Settings
from features.engineering import FeatureColumns
from pipelines.steps import tracking
from pipelines.steps.register import gate_and_register
from pipelines.steps.training import TrainedModel, fit_and_score, time_split
from tests.conftest import LINEAGE, validated

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def frame(promotion_frame: pd.DataFrame) -> pd.DataFrame:
    return promotion_frame


def trained(settings: Settings, frame: pd.DataFrame, columns: FeatureColumns) -> TrainedModel:
    split = time_split(frame, settings.schema_, settings.training.holdout_weeks)
    return fit_and_score(split, settings.schema_, columns, "logistic_regression", {"max_iter": 1000}, settings.training)


def submit(settings: Settings, frame: pd.DataFrame, model: TrainedModel) -> Any:
    evidence = validated(settings, frame)
    logged = tracking.log_training_run(
        settings, model, data_version=LINEAGE["data_version"], training_frame=frame, data_validation=evidence
    )
    return gate_and_register(settings, model, logged.run_id, logged.model_uri, LINEAGE), logged


def test_champion_then_challenger_and_a_refusal(settings: Settings, frame: pd.DataFrame) -> None:
    full = FeatureColumns.from_schema(settings.schema_)
    strong = {"num_late_payments_12m"}  # drops the AUC by about 0.015: weaker, still above the floors
    weak = FeatureColumns(tuple(c for c in full.numeric if c not in strong), full.categorical)

    first, logged = submit(settings, frame, trained(settings, frame, weak))
    assert (first.version, first.alias) == ("1", "champion")
    assert registry.aliases(settings) == {"champion": "1"}
    tags = registry.client(settings).get_model_version(settings.mlflow.registered_model, "1").tags
    assert tags["training_run"] == logged.run_id and tags["gate_compared_with"].startswith("none")
    assert {"data_version", "feature_service", "git_commit", "params_digest", "gate_verdict"} <= set(tags)

    better, _ = submit(settings, frame, trained(settings, frame, full))
    assert (better.version, better.alias) == ("2", "challenger")
    assert registry.aliases(settings) == {"champion": "1", "challenger": "2"}

    worse, logged = submit(settings, frame, trained(settings, frame, weak))
    assert worse.version is None and "beats_champion" in worse.summary
    assert registry.aliases(settings) == {"champion": "1", "challenger": "2"}  # nothing moved
    run = registry.client(settings).get_run(logged.run_id)
    assert run.data.tags["gate_verdict"] == "rejected" and "beats_champion" in run.data.tags["gate_summary"]


def test_dry_run_reports_but_registers_nothing(settings: Settings, frame: pd.DataFrame) -> None:
    dry = settings.model_copy(update={"gate": settings.gate.model_copy(update={"dry_run": True})})
    decision, _ = submit(dry, frame, trained(dry, frame, FeatureColumns.from_schema(dry.schema_)))
    assert decision.verdict.passed and decision.version is None and "dry run" in decision.note
    assert registry.aliases(dry) == {}


def test_another_projects_model_and_experiment_are_refused_by_name(settings: Settings) -> None:
    """Two params files on one tracking server naming the same model: the second project is refused."""
    from mlflow.exceptions import MlflowException

    from core.settings import SettingsError

    tracking.use_experiment(settings)
    with pytest.raises(MlflowException):  # register fails after the claim: no logged model behind the URI
        registry.register(settings, "models:/m-0", "no-run", {})
    made = registry.client(settings).get_registered_model(settings.mlflow.registered_model)
    assert made.tags[registry.PROJECT_TAG] == settings.project
    other = settings.overridden({"project": "churn"})  # the same mlflow names, another project
    with pytest.raises(SettingsError, match=r"mlflow.experiment: .*project 'credit_risk'"):
        tracking.use_experiment(other)
    with pytest.raises(SettingsError, match=r"mlflow.registered_model: .*project 'credit_risk'"):
        registry.register(other, "models:/m-0", "no-run", {})
    # A model made before projects were tagged stays usable by whoever names it.
    registry.client(settings).delete_registered_model_tag(settings.mlflow.registered_model, registry.PROJECT_TAG)
    with pytest.raises(MlflowException):
        registry.register(other, "models:/m-0", "no-run", {})


def test_the_run_records_its_training_data_with_the_schema_of_every_row(
    settings: Settings, frame: pd.DataFrame
) -> None:
    """The schema is read from evenly spaced rows (inferring it from all took 23 s at 1M rows); it must not differ."""
    model = trained(settings, frame, FeatureColumns.from_schema(settings.schema_))
    logged = tracking.log_training_run(settings, model, data_version=LINEAGE["data_version"], training_frame=frame)
    dataset = registry.client(settings).get_run(logged.run_id).inputs.dataset_inputs[0].dataset
    assert json.loads(dataset.schema)["mlflow_colspec"] == infer_signature(frame).inputs.to_dict()
    assert json.loads(dataset.profile)["num_rows"] == len(frame)
