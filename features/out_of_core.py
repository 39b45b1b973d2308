"""The history table out of core, with DuckDB: ``features.engine: duckdb``.

The same table as ``engineering.entity_history`` (one row per application: the
customer's trailing-window aggregates, stamped a second after it), computed by one SQL
query over the raw parquet files and written straight back to parquet. Nothing passes
through a pandas frame, so its size is bounded by DuckDB's memory limit
(``features.engine_memory_gb``), past which DuckDB spills to the state folder, not by
the machine's memory. Feast's DuckDB offline store does the point-in-time join on the
same engine (``store.repo_config``).

Semantics match the pandas engine (a test holds them together): the window is
``(t - window_days, t]``, a missing value is skipped by the aggregates, and with
``schema.duplicate_events: keep`` tied rows are ordered by the tie-breaker and spaced a
microsecond apart, exactly as ``ingest.break_ties`` does. DuckDB keeps time in
microseconds, as the pandas engine does with the demo's data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from core.settings import Settings
from features.engineering import AVAILABILITY_LAG, history_feature_names

if TYPE_CHECKING:
    import duckdb

_AGGREGATES = {"sum": "sum", "mean": "avg", "max": "max", "min": "min"}


@contextmanager
def connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB that spills to the state folder, within the configured memory limit."""
    import duckdb

    spill = settings.state / "duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    config = {"temp_directory": str(spill), "preserve_insertion_order": "false"}
    if settings.features.engine_memory_gb:
        config["memory_limit"] = f"{settings.features.engine_memory_gb}GB"
    with duckdb.connect(config=config) as con:
        yield con


# The queries are built from the configuration: column names are quoted as identifiers
# (any character a user's schema names stays inside the quotes), paths as string
# literals, and the numbers come from validated settings.
def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def events_sql(settings: Settings, paths: list[Path]) -> str:
    """The accepted applications as one relation, with ties broken as the contract says."""
    schema = settings.schema_
    raw = f"read_parquet({_files(paths)}, union_by_name = true)"
    if schema.duplicate_events.action != "keep":
        return f"SELECT * FROM {raw}"  # noqa: S608 (quoted paths; see _identifier)
    entity, ts, tie = (_identifier(c) for c in (schema.entity, schema.timestamp, str(schema.tie_breaker)))
    # Strictly increasing per entity: the running maximum of (time - position), plus position.
    return f"""
        SELECT * EXCLUDE (position) REPLACE (
            max({ts} - to_microseconds(position)) OVER (
                PARTITION BY {entity} ORDER BY {ts}, {tie} ROWS UNBOUNDED PRECEDING
            ) + to_microseconds(position) AS {ts}
        )
        FROM (
            SELECT *, row_number() OVER (PARTITION BY {entity} ORDER BY {ts}, {tie}) - 1 AS position FROM {raw}
        )"""  # noqa: S608 (quoted identifiers and paths)


def history_sql(settings: Settings, paths: list[Path]) -> str:
    """The history table as one query: a window per customer, ordered by time."""
    schema, features = settings.schema_, settings.features
    entity, ts = _identifier(schema.entity), _identifier(schema.timestamp)
    names = history_feature_names(features)
    columns = [f"count(*) OVER past AS {_identifier(names[0])}"]
    named = iter(names[1:])
    for column, aggregations in features.history.items():
        for how in aggregations:
            columns.append(
                f"CAST({_AGGREGATES[how]}({_identifier(column)}) OVER past AS DOUBLE) AS {_identifier(next(named))}"
            )
    lag = int(AVAILABILITY_LAG / pd.Timedelta(microseconds=1))
    # (t - window, t]: DuckDB's RANGE frame includes its start, so it starts a microsecond later.
    return f"""
        SELECT {entity}, {ts} + to_microseconds({lag}) AS {ts}, {", ".join(columns)}
        FROM ({events_sql(settings, paths)})
        WINDOW past AS (
            PARTITION BY {entity} ORDER BY {ts}
            RANGE BETWEEN INTERVAL {features.window_days} DAY - INTERVAL 1 MICROSECOND PRECEDING AND CURRENT ROW
        )
        ORDER BY {ts}, {entity}"""  # noqa: S608 (quoted identifiers, validated integers)


def write_history_table(settings: Settings, paths: list[Path], target: Path) -> int:
    """Compute the history table from the raw files into ``target`` (parquet); return its rows."""
    missing = [c for c in settings.features.history if c not in settings.schema_.numeric]
    if missing:
        raise KeyError(f"features.history names columns the raw data lacks: {missing}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with connection(settings) as con:
        con.execute(f"COPY ({history_sql(settings, paths)}) TO {_files([target])[1:-1]} (FORMAT parquet)")
        (rows,) = con.execute("SELECT count(*) FROM read_parquet($path)", {"path": str(target)}).fetchone()
    return int(rows)
