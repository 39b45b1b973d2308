"""The feature-refresh flow: a batch landed between trainings is accepted and materialized incrementally."""

from pathlib import Path

import pandas as pd
import pytest

from core.settings import load_settings
from core.synthetic import generate_week
from features import engineering, ingest, store
from pipelines.flows.refresh import feature_refresh
from pipelines.steps import data

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_landed_week_is_online_after_the_refresh_without_training(git_workspace: Path) -> None:
    settings = load_settings(git_workspace / "params.yaml")
    config = ingest.lender_config(settings)
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    for week in range(1, settings.data.history_weeks + 1):  # the history, accepted by an earlier training
        start = config.start_date + pd.Timedelta(weeks=week - 1)
        generate_week(config, week).to_parquet(settings.raw_dir / f"{ingest.batch_name(start)}.parquet")
    data.engineer(settings)
    assert data.serve_features(settings).feature_views  # the first time: the full range, as the training flow does

    week = settings.data.history_weeks + 1
    landed = generate_week(config, week)
    settings.landing_dir.mkdir(parents=True, exist_ok=True)
    landed.to_parquet(
        settings.landing_dir / f"{ingest.batch_name(config.start_date + pd.Timedelta(weeks=week - 1))}.parquet"
    )
    state = feature_refresh(settings)

    assert state is not None and not ingest.landed_batches(settings)  # accepted into data/raw
    table = pd.read_parquet(store.history_table_path(settings))
    latest = table.drop_duplicates(settings.schema_.entity, keep="last").set_index(settings.schema_.entity)
    probe = landed.drop_duplicates(settings.schema_.entity).head(30)
    online = store.online_features(store.open_store(settings), settings, probe).set_index(settings.schema_.entity)
    names = engineering.history_feature_names(settings.features)
    pd.testing.assert_frame_equal(online[names], latest.loc[online.index, names], check_dtype=False)
    assert feature_refresh(settings) is None  # nothing waiting: nothing to do
