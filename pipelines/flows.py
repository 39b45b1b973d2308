"""The Prefect flows. They only compose: the work is done by plain functions elsewhere.

``training_pipeline``: ingest -> validate -> version -> train. A batch that fails
validation is quarantined and the flow fails before training, naming what failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from core.settings import Settings, load_settings
from features.validation import ValidationOutcome, validate_batch
from pipelines import ingest, tracking, training, versioning


class DataValidationError(RuntimeError):
    """One or more arriving batches broke the data contract; they are in quarantine."""


@dataclass
class BatchVerdict:
    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    quarantine: str | None = None


@dataclass
class PipelineResult:
    batches: list[BatchVerdict]
    data_version: str
    run_id: str
    model_uri: str
    metrics: dict[str, float]
    data_docs: str | None


# Retries go on the steps that touch the file system or a store and can fail for a
# passing reason; validation and training are deterministic, so they never retry.
@task(name="ingest", cache_policy=NO_CACHE)
def ingest_task(settings: Settings) -> list[Path]:
    landed = ingest.land_batches(settings)
    waiting = ingest.landed_batches(settings)
    get_run_logger().info("%d batch(es) landed, %d waiting for validation", len(landed), len(waiting))
    return waiting


@task(name="validate", cache_policy=NO_CACHE)
def validate_task(settings: Settings, batch: Path) -> BatchVerdict:
    logger = get_run_logger()
    frame = ingest.read_table(batch)
    outcome: ValidationOutcome = validate_batch(frame, settings, batch.stem)
    if outcome.success:
        ingest.accept(batch, settings)
        logger.info("%s: %d rows passed %d expectations", batch.stem, len(frame), outcome.evaluated)
        return BatchVerdict(batch.stem, True)
    folder = ingest.quarantine(batch, settings, outcome.result, outcome.docs_page)
    failures = [str(f) for f in outcome.failures]
    logger.error("%s failed validation and is quarantined in %s:\n  %s", batch.stem, folder, "\n  ".join(failures))
    return BatchVerdict(batch.stem, False, failures, str(folder))


@task(name="version", cache_policy=NO_CACHE)
def version_task(settings: Settings) -> str:
    version = versioning.version_raw_data(settings)
    get_run_logger().info("data/raw is at DVC version %s (pushed to the local remote)", version)
    return version


@task(name="train", cache_policy=NO_CACHE)
def train_task(settings: Settings, data_version: str) -> tuple[tracking.LoggedRun, dict[str, float]]:
    frame = ingest.load_raw(settings)
    trained = training.train_and_evaluate(frame, settings.schema_, settings.training)
    logged = tracking.log_training_run(settings, trained, data_version=data_version, training_frame=frame)
    get_run_logger().info(
        "%s trained on %d rows; holdout ROC AUC %.3f; MLflow run %s",
        trained.family,
        len(trained.split.train),
        trained.metrics["roc_auc"],
        logged.run_id,
    )
    return logged, trained.metrics


@flow(name="training-pipeline", log_prints=True)
def training_pipeline(params: str | None = None, overrides: dict[str, Any] | None = None) -> PipelineResult:
    """Ingest, validate, version and train: one tracked, reproducible run on versioned data."""
    settings = load_settings(params, overrides)
    retries, delay = settings.prefect.task_retries, settings.prefect.task_retry_delay_seconds

    waiting = ingest_task.with_options(retries=retries, retry_delay_seconds=delay)(settings)
    verdicts = [validate_task(settings, batch) for batch in waiting]
    data_version = version_task.with_options(retries=retries, retry_delay_seconds=delay)(settings)

    failed = [v for v in verdicts if not v.passed]
    if failed:
        lines = [f"{v.name} (quarantined in {v.quarantine}):\n    " + "\n    ".join(v.failures) for v in failed]
        raise DataValidationError(
            f"{len(failed)} batch(es) failed validation; training did not run.\n  " + "\n  ".join(lines)
        )
    logged, metrics = train_task(settings, data_version)
    docs = settings.reports_dir / "data_docs" / "index.html"
    return PipelineResult(
        verdicts, data_version, logged.run_id, logged.model_uri, metrics, str(docs) if docs.exists() else None
    )
