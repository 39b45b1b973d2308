"""The Prefect flows. They only compose: the work is done by plain functions elsewhere.

``training_pipeline``:

    ingest -> validate -> engineer features -> version -> feature store -> train (search) -> gate -> register
                 |               |                                                            |
                 v               v                                                            v
        batch quarantined   table quarantined  (either stops the run before training)   rejected: registered nowhere

At ``level: 2`` (the maturity ladder, pipelines/levels.py) the feature-store step is
skipped: training joins the engineered table directly, and the search tunes the
hand-picked family only; a drift alert follows the gate. ``level: 3`` runs it all.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from core.settings import Settings, TrainingSettings, load_settings
from features import engineering, store
from features.validation import validate_batch, validate_feature_table
from pipelines import distributed, drift_alert, ingest, promotion, tracking, training, tuning, versioning
from pipelines.drift_alert import DriftAlert


class DataValidationError(RuntimeError):
    """Arriving data or an engineered feature table broke its contract; it is in quarantine."""


@dataclass
class BatchVerdict:
    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    quarantine: str | None = None


@dataclass
class FeatureTables:
    rows: int
    checks: int


@dataclass
class DataVersions:
    raw: str
    features: str


@dataclass
class StoreState:
    service: str
    feature_views: list[str]
    materialized_until: str


@dataclass
class PipelineResult:
    level: int
    drift_alert: DriftAlert | None
    batches: list[BatchVerdict]
    feature_table: FeatureTables
    data_version: str
    features_version: str
    feature_service: str
    run_id: str
    model_uri: str
    metrics: dict[str, float]
    candidates: int
    search_seconds: float
    family: str
    registration: Registration


def _quarantine_message(what: str, folder: Path | str | None, failures: list[str]) -> str:
    return f"{what} (quarantined in {folder}):\n    " + "\n    ".join(failures)


# Retries go on the steps that touch the file system or a store and can fail for a
# passing reason; validation, engineering and training are deterministic: no retries.
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
    outcome = validate_batch(frame, settings, batch.stem)
    if outcome.success:
        ingest.accept(batch, settings)
        logger.info("%s: %d rows passed %d expectations", batch.stem, len(frame), outcome.evaluated)
        return BatchVerdict(batch.stem, True)
    folder = ingest.quarantine(batch, settings, outcome.result, outcome.docs_page)
    logger.error("%s", _quarantine_message(batch.stem, folder, [str(f) for f in outcome.failures]))
    return BatchVerdict(batch.stem, False, [str(f) for f in outcome.failures], str(folder))


@task(name="engineer-features", cache_policy=NO_CACHE)
def engineer_task(settings: Settings) -> FeatureTables:
    """Recompute the history table from every accepted batch; publish it only if it checks out."""
    raw = ingest.load_raw(settings)
    table = engineering.customer_history(raw, settings.schema_, settings.features)
    outcome = validate_feature_table(table, settings, store.HISTORY_VIEW, expected_rows=len(raw))
    if not outcome.success:
        candidate = settings.landing_dir / f"{store.HISTORY_VIEW}.parquet"
        candidate.parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(candidate, index=False)
        folder = ingest.quarantine(candidate, settings, outcome.result, outcome.docs_page)
        raise DataValidationError(
            "the engineered feature table failed its checks; the published table is unchanged.\n  "
            + _quarantine_message(store.HISTORY_VIEW, folder, [str(f) for f in outcome.failures])
        )
    target = store.history_table_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(target, index=False)
    names = engineering.history_feature_names(settings.features)
    get_run_logger().info(
        "%s: %d rows, %d features, %d checks passed", target.name, len(table), len(names), outcome.evaluated
    )
    return FeatureTables(len(table), outcome.evaluated)


@task(name="version", cache_policy=NO_CACHE)
def version_task(settings: Settings) -> DataVersions:
    versions = versioning.version_folders(settings, [settings.raw_dir, settings.features_dir])
    result = DataVersions(versions[settings.raw_dir], versions[settings.features_dir])
    get_run_logger().info("DVC versions: data/raw %s, data/features %s (pushed)", result.raw, result.features)
    return result


@task(name="feature-store", cache_policy=NO_CACHE)
def feature_store_task(settings: Settings) -> StoreState:
    """Apply the Feast definitions and load the online store up to the latest feature row."""
    feature_store = store.apply_definitions(settings)
    table = pd.read_parquet(store.history_table_path(settings), columns=[settings.schema_.timestamp])
    until = pd.Timestamp(table[settings.schema_.timestamp].max()).to_pydatetime() + dt.timedelta(seconds=1)
    store.materialize(feature_store, settings, until)
    get_run_logger().info("Feast: applied %s, online store loaded until %s", settings.features.service_name, until)
    return StoreState(settings.features.service_name, [store.HISTORY_VIEW], until.isoformat())


@dataclass
class TrainingOutcome:
    run_id: str
    model_uri: str
    trained: training.TrainedModel  # handed to the gate in process: Prefect serializes nothing here
    candidates: int
    search_seconds: float


@dataclass
class Registration:
    verdict: str
    rules: list[str]
    passed: bool
    version: str | None
    alias: str | None
    note: str = ""  # what became of it: the role it took, or why it has none (gate, policy, approval)


def searched(settings: Settings) -> TrainingSettings:
    """Level 3 selects across every configured family; Level 2 tunes the hand-picked one."""
    if settings.level >= 3:
        return settings.training
    search = settings.training.search
    family = settings.training.model
    if family not in search.space:
        raise ValueError(f"training.model {family!r} has no search space under training.search.space")
    narrowed = search.model_copy(update={"space": {family: search.space[family]}})
    return settings.training.model_copy(update={"search": narrowed})


def training_data(settings: Settings, raw: pd.DataFrame, state: StoreState | None) -> pd.DataFrame:
    """Training rows with their history features: from Feast (Level 3) or the engineered table."""
    if state is not None:
        return store.training_frame(store.open_store(settings), settings, raw)
    table = pd.read_parquet(store.history_table_path(settings))
    return engineering.join_history(raw, table, settings.schema_, settings.features)


@task(name="train", cache_policy=NO_CACHE)
def train_task(
    settings: Settings, versions: DataVersions, state: StoreState | None, trigger: dict[str, str] | None = None
) -> TrainingOutcome:
    """Search the configured space (each candidate a nested run), refit the best, log it."""
    logger = get_run_logger()
    raw = ingest.load_raw(settings)
    frame = training_data(settings, raw, state)
    columns = store.model_feature_columns(settings)
    metric = settings.training.search.primary_metric

    def report(scored: tuning.ScoredCandidate) -> None:
        note = "" if scored.eligible else " (misses a gate floor or ceiling)"
        logger.info("candidate %s: validation %s %.4f%s", scored.candidate.label, metric, scored.metrics[metric], note)

    constraints = tuning.Constraints(
        {str(k): v for k, v in settings.gate.minimums.items()}, {str(k): v for k, v in settings.gate.maximums.items()}
    )
    started = time.perf_counter()
    best, scored = tuning.search(
        frame,
        settings.schema_,
        columns,
        searched(settings),
        constraints,
        on_candidate=report,
        score_all=distributed.score_all_for(settings.prefect),  # inline, or Dask by configuration
    )
    search_seconds = time.perf_counter() - started
    lineage = {
        "maturity_level": str(settings.level),
        "features_version": versions.features,
        "request_features": ",".join(engineering.request_feature_names(settings.features)),
        **(trigger or {"trigger": "manual"}),
    }
    if state is not None:
        lineage |= {
            "feature_service": state.service,
            "feature_service_version": str(settings.features.service_version),
            "feature_views": ",".join(state.feature_views),
        }
    # The run's description in the MLflow UI: what was trained, on what, at which level.
    lineage["mlflow.note.content"] = (
        f"Level {settings.level} training-pipeline run: best of {len(scored)} candidates, {best.family}; "
        f"data {versions.raw}, features {versions.features}."
    )
    logged = tracking.log_training_run(
        settings, best, data_version=versions.raw, training_frame=frame, extra_tags=lineage, candidates=scored
    )
    logger.info(
        "best of %d: %s; holdout %s %.4f; MLflow run %s",
        len(scored),
        best.family,
        metric,
        best.metrics[metric],
        logged.run_id,
    )
    tracking.log_metric(settings, logged.run_id, "search_seconds", search_seconds)
    return TrainingOutcome(logged.run_id, logged.model_uri, best, len(scored), search_seconds)


@task(name="gate-and-register", cache_policy=NO_CACHE)
def gate_task(settings: Settings, outcome: TrainingOutcome, versions: DataVersions) -> Registration:
    """Judge the candidate against the champion; register it only if every rule passes."""
    logger = get_run_logger()
    lineage = {
        "data_version": versions.raw,
        "features_version": versions.features,
        # The flow stops before training when any batch or the feature table fails its
        # contract, and raw/ holds accepted batches only: reaching here means it passed.
        "data_validation": "passed",
    }
    if settings.level >= 3:  # Level 2 trains without the feature store
        lineage |= {"feature_service": settings.features.service_name, "feature_views": store.HISTORY_VIEW}
    decision = promotion.gate_and_register(settings, outcome.trained, outcome.run_id, outcome.model_uri, lineage)
    for rule in decision.verdict.rules:
        (logger.info if rule.passed else logger.warning)("%s", rule)
    if decision.compliance is not None:
        for result in decision.compliance.rules:
            (logger.info if result.passed else logger.warning)("policy %s", result)
    if decision.alias:
        logger.info("gate %s: registered version %s as %s", decision.summary, decision.version, decision.alias)
    elif decision.version:
        logger.warning("version %s: %s", decision.version, decision.note)
    else:
        logger.warning("gate %s; %s", decision.summary, decision.note)
    return Registration(
        decision.summary,
        [str(r) for r in decision.verdict.rules],
        decision.verdict.passed,
        decision.version,
        decision.alias,
        decision.note,
    )


@task(name="drift-alert", cache_policy=NO_CACHE)
def drift_alert_task(settings: Settings, batches: list[BatchVerdict]) -> DriftAlert | None:
    """Level 2: the newest accepted batch against the champion's reference; an alert, never a retraining."""
    logger = get_run_logger()
    accepted = sorted(v.name for v in batches if v.passed)
    if not accepted:
        logger.info("drift alert: no new batch to check")
        return None
    alert = drift_alert.check_batch(settings, accepted[-1])
    if alert is None:
        logger.info("drift alert: no champion to compare with")
    elif alert.drifted:
        logger.warning(
            "DRIFT ALERT %s: %.0f%% of features drifted (%s); report %s. Level 2 retrains only when a person "
            "decides to (make pipeline LEVEL=2)",
            alert.window,
            100 * alert.share,
            ", ".join(alert.ranked[:5]),
            alert.html,
        )
    else:
        logger.info(
            "drift check %s: no drift (%.0f%% of features); report %s", alert.window, 100 * alert.share, alert.html
        )
    return alert


@flow(name="training-pipeline", log_prints=True)
def training_pipeline(
    params: str | None = None, overrides: dict[str, Any] | None = None, trigger: dict[str, str] | None = None
) -> PipelineResult:
    """Ingest, validate, engineer, version, serve features and train: one tracked, reproducible run.

    ``trigger`` says why it runs when the monitor started it (monitoring/policy.py
    ``Trigger.as_tags``); it is recorded on the training run.
    """
    settings = load_settings(params, overrides)
    retries, delay = settings.prefect.task_retries, settings.prefect.task_retry_delay_seconds

    waiting = ingest_task.with_options(retries=retries, retry_delay_seconds=delay)(settings)
    verdicts = [validate_task(settings, batch) for batch in waiting]
    tables = engineer_task(settings)
    versions = version_task.with_options(retries=retries, retry_delay_seconds=delay)(settings)

    failed = [v for v in verdicts if not v.passed]
    if failed:
        lines = [_quarantine_message(v.name, v.quarantine, v.failures) for v in failed]
        raise DataValidationError(
            f"{len(failed)} batch(es) failed validation; training did not run.\n  " + "\n  ".join(lines)
        )
    state = None
    if settings.level >= 3:
        state = feature_store_task.with_options(retries=retries, retry_delay_seconds=delay)(settings)
    trained = train_task(settings, versions, state, trigger)
    registration = gate_task(settings, trained, versions)
    alert = drift_alert_task(settings, verdicts) if settings.level == 2 else None
    return PipelineResult(
        level=settings.level,
        drift_alert=alert,
        batches=verdicts,
        feature_table=tables,
        data_version=versions.raw,
        features_version=versions.features,
        feature_service=state.service if state else "",
        run_id=trained.run_id,
        model_uri=trained.model_uri,
        metrics=trained.trained.metrics,
        candidates=trained.candidates,
        search_seconds=trained.search_seconds,
        family=trained.trained.family,
        registration=registration,
    )
