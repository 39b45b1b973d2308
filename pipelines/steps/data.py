"""The data steps of the training pipeline: land, validate, engineer, version, serve features.

    ingest -> validate -> engineer features -> version -> feature store
                 |               |
                 v               v
        batch quarantined   table quarantined  (either stops the run before training)

Each step is a plain function of the settings; the work is in ``features/``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from core.settings import Settings
from features import engineering, ingest, out_of_core, store, versioning
from features.validation import validate_batches, validate_feature_table
from features.validation_records import write_record
from pipelines.results import BatchVerdict, DataVersions, FeatureTables, StoreState
from pipelines.steps import log


class DataValidationError(RuntimeError):
    """Arriving data or an engineered feature table broke its contract; it is in quarantine."""


def _quarantine_message(what: str, folder: Path | str | None, failures: list[str]) -> str:
    return f"{what} (quarantined in {folder}):\n    " + "\n    ".join(failures)


def land(settings: Settings) -> list[Path]:
    """Land this run's batches; return every batch waiting for validation."""
    landed = ingest.land_batches(settings)
    waiting = ingest.landed_batches(settings)
    log().info("%d batch(es) landed, %d waiting for validation", len(landed), len(waiting))
    return waiting


def validate(settings: Settings, batches: list[Path]) -> list[BatchVerdict]:
    """Validate every waiting batch in one pass; accept each into the raw store, or quarantine it whole."""
    import pyarrow.parquet as pq

    verdicts = []
    for batch, outcome in zip(batches, validate_batches(batches, settings), strict=True):
        if outcome.success:
            rows = pq.ParquetFile(batch).metadata.num_rows
            write_record(ingest.accept(batch, settings), outcome)
            log().info("%s: %d rows passed %d expectations", batch.stem, rows, outcome.evaluated)
            verdicts.append(BatchVerdict(batch.stem, True))
            continue
        folder = ingest.quarantine(batch, settings, outcome.result, outcome.docs_page)
        failures = [str(f) for f in outcome.failures]
        log().error("%s", _quarantine_message(batch.stem, folder, failures))
        verdicts.append(BatchVerdict(batch.stem, False, failures, str(folder)))
    return verdicts


def stop_if_quarantined(verdicts: list[BatchVerdict]) -> None:
    """Nothing trains on data that broke its contract: raise naming every quarantined batch."""
    failed = [v for v in verdicts if not v.passed]
    if failed:
        lines = [_quarantine_message(v.name, v.quarantine, v.failures) for v in failed]
        raise DataValidationError(
            f"{len(failed)} batch(es) failed validation; training did not run.\n  " + "\n  ".join(lines)
        )


def engineer(settings: Settings) -> FeatureTables:
    """Recompute the history table from every accepted batch; publish it only if it checks out.

    ``features.engine`` says where: in memory with pandas, or out of core with DuckDB
    (``features/out_of_core.py``), which reads the raw files itself.
    """
    candidate = settings.landing_dir / f"{store.HISTORY_VIEW}.parquet"
    candidate.parent.mkdir(parents=True, exist_ok=True)
    if settings.features.engine == "duckdb":
        batches = ingest.accepted_batches(settings)
        expected = ingest.count_rows(batches)
        out_of_core.write_history_table(settings, batches, candidate)
        table = pd.read_parquet(candidate)
    else:
        raw = ingest.load_raw(settings)
        expected = len(raw)
        table = engineering.entity_history(raw, settings.schema_, settings.features)
        del raw
        table.to_parquet(candidate, index=False)
    outcome = validate_feature_table(table, settings, store.HISTORY_VIEW, expected_rows=expected)
    if not outcome.success:
        folder = ingest.quarantine(candidate, settings, outcome.result, outcome.docs_page)
        raise DataValidationError(
            "the engineered feature table failed its checks; the published table is unchanged.\n  "
            + _quarantine_message(store.HISTORY_VIEW, folder, [str(f) for f in outcome.failures])
        )
    target = store.history_table_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    candidate.replace(target)  # one rename: Feast and DVC never see half a table
    names = engineering.history_feature_names(settings.features)
    log().info("%s: %d rows, %d features, %d checks passed", target.name, len(table), len(names), outcome.evaluated)
    return FeatureTables(len(table), outcome.evaluated)


def version(settings: Settings) -> DataVersions:
    """Track ``data/raw`` and ``data/features`` with DVC and push them; their versions go on the run."""
    versions = versioning.version_folders(settings, [settings.raw_dir, settings.features_dir])
    result = DataVersions(versions[settings.raw_dir], versions[settings.features_dir])
    log().info("DVC versions: data/raw %s, data/features %s (pushed)", result.raw, result.features)
    return result


def serve_features(settings: Settings) -> StoreState:
    """Apply the Feast definitions and load the online store up to the latest feature row."""
    feature_store = store.apply_definitions(settings)
    table = pd.read_parquet(store.history_table_path(settings), columns=[settings.schema_.timestamp])
    until = pd.Timestamp(table[settings.schema_.timestamp].max()).to_pydatetime() + dt.timedelta(seconds=1)
    how = store.materialize(feature_store, settings, until)
    log().info("Feast: applied %s, online store loaded until %s (%s)", settings.features.service_name, until, how)
    return StoreState(settings.features.service_name, [store.HISTORY_VIEW], until.isoformat())
