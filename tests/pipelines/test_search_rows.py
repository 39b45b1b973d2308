"""The search's row cap (training.search.max_rows): candidates fit on a stratified sample,
the winner on every training row, and the run in MLflow says which was which."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from core import registry
from core.settings import Settings, SettingsError, load_settings
from features.engineering import FeatureColumns
from pipelines.steps import tracking
from pipelines.steps.register import gate_and_register
from pipelines.steps.training import time_split
from pipelines.steps.tuning import FIRST_MONDAY, Constraints, search, search_rows
from tests.conftest import LINEAGE, validated, write_params

pytestmark = pytest.mark.model

CAP = 1000


def capped(settings: Settings, max_rows: int | None, budget: int = 3) -> Settings:
    search_settings = settings.training.search.model_copy(update={"max_rows": max_rows, "budget": budget})
    return settings.model_copy(update={"training": settings.training.model_copy(update={"search": search_settings})})


def weeks_of(frame: pd.DataFrame, settings: Settings) -> pd.Series:
    timestamps = pd.to_datetime(frame[settings.schema_.timestamp], utc=True)
    return (timestamps - FIRST_MONDAY) // pd.Timedelta(weeks=1)


def test_the_sample_keeps_each_weeks_share_and_label_rate_and_is_seeded(
    settings: Settings, promotion_frame: pd.DataFrame
) -> None:
    schema, label = settings.schema_, settings.schema_.label
    train = time_split(promotion_frame, schema, 2).train
    sample = search_rows(train, schema, CAP, seed=7)
    assert len(sample) == CAP and not sample.duplicated().any()
    assert list(sample.index) == list(range(CAP))
    # Every sampled row is a training row, and they keep the training rows' order.
    keys = [schema.entity, schema.timestamp]
    position = pd.Series(range(len(train)), index=pd.MultiIndex.from_frame(train[keys]))
    assert position.loc[pd.MultiIndex.from_frame(sample[keys])].is_monotonic_increasing
    # Stratified by week and label: each cell's count is its share of the cap, to within one row.
    share = CAP / len(train)
    wanted = train.groupby([weeks_of(train, settings), train[label]]).size() * share
    got = sample.groupby([weeks_of(sample, settings), sample[label]]).size().reindex(wanted.index, fill_value=0)
    assert (got - wanted).abs().max() < 1.0
    # Seeded: the same seed draws the same rows, another seed others.
    assert search_rows(train, schema, CAP, seed=7).equals(sample)
    assert not search_rows(train, schema, CAP, seed=8).equals(sample)
    # Under the cap, or with none: every row, untouched.
    assert search_rows(train, schema, len(train), seed=7) is train
    assert search_rows(train, schema, None, seed=7) is train


def test_candidates_fit_on_the_cap_and_the_registered_model_on_every_training_row(
    settings: Settings, promotion_frame: pd.DataFrame
) -> None:
    settings = capped(settings, CAP)
    schema, training = settings.schema_, settings.training
    columns = FeatureColumns.from_schema(schema)
    outer = time_split(promotion_frame, schema, training.holdout_weeks)
    inner = time_split(outer.train, schema, training.search.validation_weeks)
    assert len(inner.train) > 4 * CAP  # the cap bites

    gate = settings.gate  # its floors and ceilings, as the train step passes them
    constraints = Constraints(
        {str(k): v for k, v in gate.minimums.items()}, {str(k): v for k, v in gate.maximums.items()}
    )
    best, scored = search(promotion_frame, schema, columns, training, constraints)
    assert len(scored) == training.search.budget
    assert all(s.fit_rows == CAP for s in scored)
    assert best.metrics["train_rows"] == len(outer.train)

    logged = tracking.log_training_run(
        settings,
        best,
        data_version=LINEAGE["data_version"],
        training_frame=promotion_frame,
        candidates=scored,
        data_validation=validated(settings, promotion_frame),
    )
    decision = gate_and_register(settings, best, logged.run_id, logged.model_uri, LINEAGE)
    assert decision.version == "1", decision.summary

    # What MLflow shows: the cap and the rows the search fitted on, on the parent run and each candidate.
    client = registry.client(settings)
    run = client.get_run(logged.run_id)
    assert run.data.params["search_max_rows"] == str(CAP) and run.data.params["search_fit_rows"] == str(CAP)
    assert run.data.metrics["train_rows"] == len(outer.train)
    nested = client.search_runs([logged.experiment_id], f"tags.mlflow.parentRunId = '{logged.run_id}'")
    assert sorted(r.data.metrics["fit_rows"] for r in nested) == [CAP] * training.search.budget

    # The registered model itself saw every training row: its scaler counted them when it was fitted.
    mlflow.set_tracking_uri(settings.tracking_uri)
    model = mlflow.sklearn.load_model(f"models:/{settings.mlflow.registered_model}/1")
    scaler = model.named_steps["preprocess"].named_transformers_["numeric"].named_steps["scale"]
    assert int(np.max(scaler.n_samples_seen_)) == len(outer.train)


def test_a_cap_at_or_above_the_rows_searches_on_every_row(settings: Settings, promotion_frame: pd.DataFrame) -> None:
    schema = settings.schema_
    columns = FeatureColumns.from_schema(schema)
    uncapped = capped(settings, None, budget=2).training
    at_most = capped(settings, 10 * len(promotion_frame), budget=2).training
    _, everything = search(promotion_frame, schema, columns, uncapped)
    _, roomy = search(promotion_frame, schema, columns, at_most)
    assert [s.fit_rows for s in roomy] == [s.fit_rows for s in everything]
    assert [s.metrics for s in roomy] == [s.metrics for s in everything]


@pytest.mark.parametrize("value", [0, 99, -5, "many"])
def test_a_bad_cap_is_refused_naming_its_key(tmp_path: Path, value: object) -> None:
    with pytest.raises(SettingsError, match=r"training\.search\.max_rows"):
        load_settings(write_params(tmp_path), {"training.search.max_rows": value})


def test_no_cap_is_null_and_the_shipped_cap_is_200k(tmp_path: Path) -> None:
    assert load_settings(write_params(tmp_path), {"training.search.max_rows": None}).training.search.max_rows is None
    assert load_settings(write_params(tmp_path)).training.search.max_rows == 200_000
