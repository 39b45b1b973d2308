"""Feast for real: point-in-time joins, no training/serving skew, idempotent materialization."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from core.environment import tool_environment
from core.settings import Settings
from core.synthetic import LenderConfig, generate_week
from features import engineering, store
from features.freshness import FreshHistory
from features.validation import validate_feature_table

if TYPE_CHECKING:  # Feast itself is imported through features.store.import_feast
    from feast import FeatureStore

pytestmark = pytest.mark.e2e

PROJECT = Path(__file__).resolve().parents[2]


def publish_history(settings: Settings, raw: pd.DataFrame) -> pd.DataFrame:
    table = engineering.entity_history(raw, settings.schema_, settings.features)
    path = store.history_table_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(path, index=False)
    return table


def landed_and_materialized(settings: Settings, raw: pd.DataFrame) -> FeatureStore:
    """``raw`` as the one landed week a service starts from, its history table materialized online."""
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    raw.to_parquet(settings.raw_dir / "week_2026-01-05.parquet", index=False)
    table = publish_history(settings, raw)
    feature_store = store.apply_definitions(settings)
    store.materialize(feature_store, settings, table["event_timestamp"].max().to_pydatetime())
    return feature_store


@pytest.fixture
def raw() -> pd.DataFrame:
    config = LenderConfig(applications_per_week=400, customers=300)  # few customers: long histories
    return pd.concat([generate_week(config, w) for w in range(1, 5)], ignore_index=True)


def test_a_value_written_after_an_event_never_reaches_its_training_row(settings: Settings) -> None:
    raw = pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C1"],
            "event_timestamp": pd.to_datetime(["2026-01-05 09:00", "2026-01-20 09:00", "2026-02-10 09:00"], utc=True),
            "loan_amount": [1000.0, 2000.0, 900000.0],  # the last one would stand out anywhere
            "credit_utilization": [0.1, 0.2, 0.9],
            "num_late_payments_12m": [0, 0, 7],
            "num_credit_inquiries_6m": [1, 1, 1],
        }
    )
    publish_history(settings, raw)
    feature_store = store.apply_definitions(settings)
    events = pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C1", "C1"],
            # before any history; at the second application; between; a second before the third.
            "event_timestamp": pd.to_datetime(
                ["2026-01-01 00:00:00", "2026-01-20 09:00:00", "2026-02-01 00:00:00", "2026-02-10 08:59:59"], utc=True
            ),
            "loan_amount": [1.0, 1.0, 1.0, 1.0],
            "annual_income": [1.0, 1.0, 1.0, 1.0],
            "monthly_debt": [1.0, 1.0, 1.0, 1.0],
            "loan_term_months": [1.0, 1.0, 1.0, 1.0],
        }
    )
    frame = store.training_frame(feature_store, settings, events)
    assert len(frame) == len(events)  # no event is dropped, even without history
    assert list(frame["events_90d"]) == [0, 1, 2, 2]  # an application never sees itself
    assert list(frame["loan_amount_sum_90d"]) == [0.0, 1000.0, 3000.0, 3000.0]
    assert frame["num_late_payments_12m_max_90d"].fillna(0).max() == 0  # the late payments of Feb 10 stay out
    assert (frame["loan_amount_sum_90d"] < 900000).all()


def test_training_and_serving_see_the_same_features(settings: Settings, raw: pd.DataFrame) -> None:
    """Returning customers included: each served event's row goes online (as the service writes it)
    before the next is read, and the retraining's join over all the data agrees with every answer."""
    feature_store = landed_and_materialized(settings, raw)  # what the service starts from

    # New applications arriving after the last materialized row, for known and new customers, some twice.
    later = generate_week(LenderConfig(applications_per_week=400, customers=300), 6).head(120)
    assert later["customer_id"].duplicated().sum() > 10
    fresh, reader = (
        FreshHistory(settings, store.HISTORY_VIEW),
        store.OnlineFeatures(settings, feature_store),
    )
    served = []
    for _, event in later.iterrows():  # in event order, as the service answers them
        # The service's way: wait for the entity's turn, read, hand the event to the writer
        # thread and go on; a returning customer's next read waits for that row.
        turn = fresh.take_turn(event["customer_id"])
        served.append(reader(event.to_frame().T.reset_index(drop=True)))
        fresh.hand_over(turn, event["customer_id"], event["event_timestamp"], {str(k): v for k, v in event.items()})
    fresh.close()
    online = pd.concat(served, ignore_index=True)
    # A request still in flight when the service shuts down (after close): the writer is gone,
    # so its row waits for the next materialization, and its entity's turn comes back.
    last = later.iloc[-1]
    turn = fresh.take_turn(last["customer_id"])
    stamp = last["event_timestamp"] + pd.Timedelta(seconds=5)
    fresh.hand_over(turn, last["customer_id"], stamp, {str(k): v for k, v in last.items()})
    assert turn.acquire(timeout=10), "the entity's turn never came back after close()"
    turn.release()

    publish_history(settings, pd.concat([raw, later], ignore_index=True))  # the served events landed
    offline = store.training_frame(store.apply_definitions(settings), settings, later)
    columns = store.model_feature_columns(settings).all
    pd.testing.assert_frame_equal(
        offline[columns].reset_index(drop=True), online[columns].reset_index(drop=True), check_dtype=False, rtol=1e-9
    )
    assert online["events_90d"].gt(0).sum() > 60  # most of them had history to compare


def test_one_event_whose_row_cannot_be_computed_leaves_the_others_of_its_write(
    settings: Settings, raw: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    """The writer's batch: each row computed, all written in one call; a bad one is logged and left out."""
    feature_store = landed_and_materialized(settings, raw)
    entity, field = settings.schema_.entity, next(iter(settings.features.history))
    fresh = FreshHistory(settings, store.HISTORY_VIEW)
    later = generate_week(LenderConfig(applications_per_week=400, customers=300), 6)
    later = later.drop_duplicates(entity).head(3)
    events = [(str(e[entity]), e["event_timestamp"], {str(k): v for k, v in e.items()}) for _, e in later.iterrows()]
    events[1][2][field] = "not a number"

    written = fresh.record_many(events)

    assert list(written[entity]) == [events[0][0], events[2][0]]
    assert f"could not compute {events[1][0]}'s history row" in caplog.text
    online = store.OnlineFeatures(settings, feature_store)(later.reset_index(drop=True))
    count = settings.features.history_names[0]
    # The two good rows are online (each counts its new event, so the materialized row would differ).
    assert [online[count].iloc[0], online[count].iloc[2]] == list(written[count])
    fresh.close()


def test_a_writer_process_that_dies_fails_its_write_aloud_and_is_replaced(
    settings: Settings, raw: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    """The rows are computed and written in a process of their own; if it dies, the next one seeds afresh."""
    landed_and_materialized(settings, raw)
    entity = settings.schema_.entity
    later = generate_week(LenderConfig(applications_per_week=400, customers=300), 6).drop_duplicates(entity).head(2)
    first, second = (
        (str(e[entity]), e["event_timestamp"], {str(k): v for k, v in e.items()}) for _, e in later.iterrows()
    )
    fresh = FreshHistory(settings, store.HISTORY_VIEW)
    assert fresh.seeded > 0  # the landed week's events, read by the writer process
    writer = fresh._process
    assert writer is not None and writer.pid != os.getpid()
    writer.kill()
    writer.join(10)

    with pytest.raises(RuntimeError, match="writer stopped before writing 1 rows"):
        fresh.record(*first)
    assert "fresh history writer process stopped" in caplog.text
    written = fresh.record(*second)  # a new writer, seeded from the landed batches again

    assert list(written[entity]) == [second[0]]
    assert fresh._process is not writer and fresh.seeded > 0
    fresh.close()


def test_materializing_twice_changes_nothing(settings: Settings, raw: pd.DataFrame) -> None:
    table = publish_history(settings, raw)
    feature_store = store.apply_definitions(settings)
    until = table["event_timestamp"].max().to_pydatetime()
    probe = raw.drop_duplicates("customer_id").head(50)

    store.materialize(feature_store, settings, until)
    first = store.online_features(feature_store, settings, probe)
    store.apply_definitions(settings)
    store.materialize(feature_store, settings, until)
    second = store.online_features(feature_store, settings, probe)

    pd.testing.assert_frame_equal(first, second)
    assert first["events_90d"].notna().all() and first["loan_amount_sum_90d"].gt(0).all()


def test_each_landed_week_is_materialized_incrementally(settings: Settings, raw: pd.DataFrame) -> None:
    table = publish_history(settings, raw)
    feature_store = store.apply_definitions(settings)
    assert store.materialize(feature_store, settings, table["event_timestamp"].max().to_pydatetime()) == "full"

    week = generate_week(LenderConfig(applications_per_week=400, customers=300), 5)
    table = publish_history(settings, pd.concat([raw, week], ignore_index=True))
    feature_store = store.apply_definitions(settings)
    until = table["event_timestamp"].max().to_pydatetime()
    assert store.materialize(feature_store, settings, until) == "incremental"
    latest = table.drop_duplicates("customer_id", keep="last").set_index("customer_id")
    probe = week.drop_duplicates("customer_id").head(40)
    online = store.online_features(feature_store, settings, probe).set_index("customer_id")
    names = engineering.history_feature_names(settings.features)
    pd.testing.assert_frame_equal(online[names], latest.loc[online.index, names], check_dtype=False)


def test_a_broken_transformation_fails_the_feature_checks(settings: Settings, raw: pd.DataFrame) -> None:
    table = engineering.entity_history(raw, settings.schema_, settings.features)
    assert validate_feature_table(table, settings, "good", expected_rows=len(raw)).success

    broken = table.assign(credit_utilization_mean_90d=table["credit_utilization_mean_90d"] * 100)
    outcome = validate_feature_table(broken, settings, "percent-bug", expected_rows=len(raw))
    assert [f.check for f in outcome.failures] == ["credit_utilization_mean_90d.range"]

    lost_rows = table.iloc[: len(table) // 2]
    outcome = validate_feature_table(lost_rows, settings, "lost-rows", expected_rows=len(raw))
    assert "rows.one_per_event" in {f.check for f in outcome.failures}


@pytest.mark.slow
def test_the_feast_cli_sees_the_applied_repo_and_plans_no_change(settings: Settings, raw: pd.DataFrame) -> None:
    publish_history(settings, raw)
    store.apply_definitions(settings)
    env = {**os.environ, **tool_environment(settings)}

    def feast(*args: str) -> str:
        done = subprocess.run(
            [str(PROJECT / ".venv" / "bin" / "feast"), *args],
            cwd=store.FEATURE_REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    assert "entity_history" in feast("feature-views", "list")
    assert settings.features.service_name in feast("feature-services", "list")
    plan = feast("plan")
    assert "No changes to registry" in plan
    assert not np.any(
        [line.startswith(("Created", "Deleted", "Updated")) for line in plan.splitlines() if "sqlite" not in line]
    )
