"""Train/serve parity with returning entities, through the real service over HTTP.

Weeks of the same customers (several applications of one customer within a week) are
sent to ``bentoml serve``; afterwards every served history feature (the prediction log
records them) is held against Feast's point-in-time join over all the data, as the next
retraining will see it. Materialized once before the traffic, as the training flow
does: only the service's own writes (``features.fresh_online``) keep the store current.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import numpy as np
import pandas as pd
import pytest

from core import registry
from core.settings import Settings, load_settings
from core.synthetic import generate_week
from features import engineering, ingest, store
from serving import prediction_log
from serving.schema import request_bodies
from tests.conftest import write_params, write_policy
from tests.serving.conftest import Server, register_model

if TYPE_CHECKING:  # Feast itself is imported through features.store.import_feast
    from feast import FeatureStore

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HISTORY_WEEKS, SERVED_WEEKS = 4, (5, 6, 7)


def land(settings: Settings, frame: pd.DataFrame) -> None:
    """A week into the raw store, as ingestion leaves it."""
    start = pd.Timestamp(frame[settings.schema_.timestamp].min()).date()
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(settings.raw_dir / f"{ingest.batch_name(start)}.parquet", index=False)


def publish(settings: Settings) -> FeatureStore:
    """The history table from everything landed, applied to Feast."""
    table = engineering.entity_history(ingest.load_raw(settings), settings.schema_, settings.features)
    store.history_table_path(settings).parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(store.history_table_path(settings), index=False)
    return store.apply_definitions(settings)


def served_history(folder: Path, fresh: bool) -> tuple[Settings, pd.DataFrame, pd.DataFrame]:
    """Serve the weeks; return what was served (from the log) and what the point-in-time join gives."""
    policy = write_policy(folder, minimums={}, maximums={})
    write_params(
        folder,
        data={"history_weeks": HISTORY_WEEKS, "applications_per_week": 150, "customers": 60},
        gate={"minimums": {}, "maximums": {}},
        governance={"policy_file": str(policy)},
        features={"fresh_online": fresh},
    )
    settings = load_settings(folder / "params.yaml", environ={})
    timestamp, config = settings.schema_.timestamp, ingest.lender_config(settings)
    for week in range(1, HISTORY_WEEKS + 1):
        land(settings, generate_week(config, week))
    feature_store = publish(settings)
    raw = ingest.load_raw(settings)
    table = pd.read_parquet(store.history_table_path(settings))  # up to its last row, as the training flow does
    store.materialize(feature_store, settings, table[timestamp].max().to_pydatetime() + dt.timedelta(seconds=1))
    register_model(settings, store.training_frame(feature_store, settings, raw), registry.CHAMPION)

    weeks = [generate_week(config, w) for w in SERVED_WEEKS]
    served = pd.concat(weeks, ignore_index=True).sort_values(timestamp, kind="stable").reset_index(drop=True)
    served["request_id"] = [f"r{i}" for i in range(len(served))]
    bodies = request_bodies(served, settings.schema_)
    assert len(bodies) == len(served)
    server = Server(settings)
    try:
        server.wait_until("/readyz", 200)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for body in bodies:  # in event order, one at a time: each answer before the next request
                assert client.post("/predict", json=body).status_code == 200
    finally:
        server.stop()

    entries = list(prediction_log.read(settings.predictions_dir))
    logged = pd.DataFrame([{"request_id": e["request_id"], **e["features"]} for e in entries])
    for served_week in weeks:  # the served events land, as the loop lands each served week
        land(settings, served_week)
    expected = store.training_frame(publish(settings), settings, served.drop(columns="request_id"))
    expected["request_id"] = served["request_id"].to_numpy()
    return settings, logged.set_index("request_id"), expected.set_index("request_id")


def differing(settings: Settings, logged: pd.DataFrame, expected: pd.DataFrame) -> pd.Series:
    """Per served request: does any history feature differ from the point-in-time join?"""
    names = engineering.history_feature_names(settings.features)
    want = expected.loc[logged.index, names].astype("float64").to_numpy()
    got = logged[names].astype("float64").to_numpy()
    same = np.isclose(got, want, rtol=1e-9, atol=1e-9) | (np.isnan(got) & np.isnan(want))
    return pd.Series(~same.all(axis=1), index=logged.index)


def returning(settings: Settings, expected: pd.DataFrame) -> pd.Series:
    """Requests of customers the service has answered before (in the served weeks)."""
    return expected[settings.schema_.entity].duplicated()


def test_every_served_history_feature_is_the_point_in_time_joins(tmp_path: Path) -> None:
    settings, logged, expected = served_history(tmp_path, fresh=True)
    assert len(logged) == len(expected)
    again = returning(settings, expected)
    week = expected[settings.schema_.timestamp].dt.isocalendar().week
    within_week = expected.groupby([settings.schema_.entity, week]).size()
    assert again.sum() > len(expected) / 2 and (within_week >= 3).any()  # the case that matters is well covered
    count = engineering.history_feature_names(settings.features)[0]
    assert expected.loc[again.to_numpy(), count].gt(0).all()  # returning customers have served history
    wrong = differing(settings, logged, expected)
    assert wrong.sum() == 0, f"{wrong.sum()} of {len(wrong)} served rows differ from the point-in-time join"


def test_without_writes_at_request_time_returning_customers_are_served_stale_history(tmp_path: Path) -> None:
    """The code before features.fresh_online: the store is only as current as its last materialization."""
    settings, logged, expected = served_history(tmp_path, fresh=False)
    wrong = differing(settings, logged, expected)[returning(settings, expected).to_numpy()]
    assert wrong.mean() > 0.5, f"only {wrong.sum()} of {len(wrong)} returning customers' rows differ"
