"""The DuckDB engine (features.engine: duckdb) computes what the pandas engine computes."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.settings import Settings, load_settings
from core.synthetic import LenderConfig, generate_week
from features import engineering, ingest, out_of_core, store
from tests.conftest import write_params

pytestmark = pytest.mark.data


def write_batches(settings: Settings, weeks: list[pd.DataFrame]) -> list[Path]:
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, frame in enumerate(weeks, start=1):
        paths.append(settings.raw_dir / f"week_2026-01-{number:02d}.parquet")
        frame.to_parquet(paths[-1], index=False)
    return paths


def both_engines(settings: Settings, paths: list[Path], tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The history table from pandas and from DuckDB, rows in the same order."""
    in_memory = engineering.entity_history(ingest.load_raw(settings), settings.schema_, settings.features)
    target = tmp_path / "history.parquet"
    rows = out_of_core.write_history_table(settings, paths, target)
    out_of_core_table = pd.read_parquet(target)
    assert rows == len(out_of_core_table) == len(in_memory)
    keys = [settings.schema_.entity, settings.schema_.timestamp]
    ordered = [t.sort_values(keys).reset_index(drop=True) for t in (in_memory, out_of_core_table)]
    return ordered[0], ordered[1]


def assert_same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    for column in a.columns:
        if pd.api.types.is_float_dtype(a[column]):
            np.testing.assert_allclose(a[column].to_numpy(), b[column].to_numpy(), rtol=1e-9, err_msg=column)
        elif pd.api.types.is_datetime64_any_dtype(a[column]):
            assert (pd.to_datetime(a[column], utc=True) == pd.to_datetime(b[column], utc=True)).all(), column
        else:
            assert (a[column].to_numpy() == b[column].to_numpy()).all(), column


def test_the_history_table_is_the_pandas_one(settings: Settings, tmp_path: Path) -> None:
    config = LenderConfig(applications_per_week=500, customers=150)  # few customers: long histories
    weeks = [generate_week(config, w) for w in range(1, 7)]
    in_memory, out_of_core_table = both_engines(settings, write_batches(settings, weeks), tmp_path)
    assert in_memory["events_90d"].max() > 5  # windows really hold several applications
    assert in_memory["loan_amount_mean_90d"].notna().all()
    assert_same_table(in_memory, out_of_core_table)


def test_the_window_ends_exactly_where_pandas_ends_it(tmp_path: Path) -> None:
    features = {"history": {"loan_amount": ["sum", "min"], "credit_utilization": ["mean"]}, "window_days": 10}
    settings = load_settings(write_params(tmp_path, features=features))
    week = generate_week(LenderConfig(applications_per_week=400, customers=1000), 1)
    start = pd.Timestamp("2026-01-05", tz="UTC")
    # One customer: 10 days apart exactly (outside), then 10 days less a microsecond (inside).
    stamps = [start, start + pd.Timedelta(days=10), start + pd.Timedelta(days=20) - pd.Timedelta(microseconds=1)]
    week.loc[:2, "customer_id"] = "EDGE"
    week.loc[:2, "event_timestamp"] = stamps
    week.loc[1, "credit_utilization"] = np.nan  # skipped by the mean, as pandas skips it
    in_memory, out_of_core_table = both_engines(settings, write_batches(settings, [week]), tmp_path)
    edge = out_of_core_table[out_of_core_table["customer_id"] == "EDGE"]
    assert list(edge["events_10d"]) == [1, 1, 2]
    assert_same_table(in_memory, out_of_core_table)


def test_tied_events_are_kept_in_the_same_order_and_spacing(tmp_path: Path) -> None:
    settings = load_settings(write_params(tmp_path, schema={"duplicate_events": {"action": "keep"}}))
    week = generate_week(LenderConfig(applications_per_week=400, customers=100), 1)
    week.loc[[5, 6, 7], ["customer_id", "event_timestamp"]] = week.loc[3, ["customer_id", "event_timestamp"]].to_numpy()
    in_memory, out_of_core_table = both_engines(settings, write_batches(settings, [week]), tmp_path)
    assert not out_of_core_table.duplicated(["customer_id", "event_timestamp"]).any()
    assert_same_table(in_memory, out_of_core_table)


@pytest.mark.e2e
def test_feasts_duckdb_offline_store_joins_as_the_file_store_does(settings: Settings, tmp_path: Path) -> None:
    config = LenderConfig(applications_per_week=400, customers=300)
    raw = pd.concat([generate_week(config, w) for w in range(1, 5)], ignore_index=True)
    table = engineering.entity_history(raw, settings.schema_, settings.features)
    path = store.history_table_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(path, index=False)
    joined = {}
    for engine in ("pandas", "duckdb"):
        chosen = settings.model_copy(update={"features": settings.features.model_copy(update={"engine": engine})})
        feature_store = store.apply_definitions(chosen)
        assert type(feature_store._get_provider().offline_store).__name__ == (
            "DuckDBOfflineStore" if engine == "duckdb" else "DaskOfflineStore"
        )
        joined[engine] = store.training_frame(feature_store, chosen, raw)
    assert len(joined["duckdb"]) == len(raw)
    pd.testing.assert_frame_equal(joined["pandas"], joined["duckdb"], check_dtype=False)
