"""Benchmark the feature store at the default data size: ``make bench-features``.

Builds a throwaway state folder, engineers the history table from the default number
of synthetic weeks, applies and materializes it, then times the online read for one
entity. Every timing is printed beside a baseline measured in the same run (a plain
dictionary lookup of the same rows in memory), because this machine is noisy and a
ratio travels better than a number.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from core.environment import apply_tool_environment
from core.settings import DEFAULT_PARAMS, load_settings
from core.synthetic import generate_week
from core.timing import timings_ms
from features import engineering, store
from features.ingest import lender_config


def _quantile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q * 100) - 1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make bench-features", description=__doc__)
    parser.add_argument("--calls", type=int, default=500, help="online reads per measurement (default 500)")
    args = parser.parse_args(argv)
    workspace = Path(tempfile.mkdtemp(prefix="bench-features-"))
    try:
        _run(workspace, args.calls)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _run(workspace: Path, calls: int) -> None:
    (workspace / "params.yaml").write_text(DEFAULT_PARAMS.read_text())
    settings = load_settings(workspace / "params.yaml")
    apply_tool_environment(settings)
    config = lender_config(settings)
    raw = pd.concat([generate_week(config, w) for w in range(1, settings.data.history_weeks + 1)], ignore_index=True)

    started = time.perf_counter()
    table = engineering.entity_history(raw, settings.schema_, settings.features)
    engineer_s = time.perf_counter() - started
    path = store.history_table_path(settings)
    path.parent.mkdir(parents=True)
    table.to_parquet(path, index=False)

    started = time.perf_counter()
    feature_store = store.apply_definitions(settings)
    apply_s = time.perf_counter() - started
    until = table[settings.schema_.timestamp].max().to_pydatetime()
    started = time.perf_counter()
    store.materialize(feature_store, settings, until)
    materialize_s = time.perf_counter() - started
    started = time.perf_counter()
    store.training_frame(feature_store, settings, raw)
    historical_s = time.perf_counter() - started

    entity = settings.schema_.entity
    request = raw.tail(1)
    names = engineering.history_feature_names(settings.features)
    latest = table.drop_duplicates(entity, keep="last").set_index(entity)[names].to_dict("index")
    service = feature_store.get_feature_service(settings.features.service_name)
    row = [{entity: request[entity].iloc[0]}]
    baseline = timings_ms(lambda: latest[request[entity].iloc[0]], calls)
    feast_only = timings_ms(
        lambda: feature_store.get_online_features(features=service, entity_rows=row).to_dict(), calls
    )
    reader = store.OnlineFeatures(settings, feature_store)  # built once, as a server does
    full_path = timings_ms(lambda: reader(request), calls)

    console = Console()
    sizes = Table(
        title=f"Feature store at the default size ({len(raw)} applications, {raw[entity].nunique()} customers)"
    )
    for column in ("step", "seconds"):
        sizes.add_column(column, justify="right" if column == "seconds" else "left")
    for step, seconds in (
        ("engineer history table", engineer_s),
        ("apply definitions", apply_s),
        ("materialize to SQLite (full range)", materialize_s),
        ("historical join, every application", historical_s),
    ):
        sizes.add_row(step, f"{seconds:.2f}")
    console.print(sizes)

    latency = Table(title=f"Online read for one entity, {calls} calls (ms)")
    for column in ("path", "p50", "p99", "p50 / baseline"):
        latency.add_column(column, justify="left" if column == "path" else "right")
    base_p50 = _quantile(baseline, 0.5)
    for label, samples in (
        ("baseline: dict lookup in memory", baseline),
        ("feast get_online_features", feast_only),
        ("serving path (feast + request features)", full_path),
    ):
        p50, p99 = _quantile(samples, 0.5), _quantile(samples, 0.99)
        latency.add_row(label, f"{p50:.3f}", f"{p99:.3f}", f"{p50 / base_p50:,.0f}x")
    console.print(latency)


if __name__ == "__main__":
    main()
