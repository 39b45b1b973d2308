"""The train step: the automated search over the configured space, tracked in MLflow.

Level 3 selects across every configured model family; Level 2 tunes the hand-picked
one. Each candidate is a nested MLflow run; the winner is refitted and logged with its
lineage, and handed to the gate in process.
"""

from __future__ import annotations

import time

import pandas as pd

from core.sections import TrainingSettings
from core.settings import Settings
from features import engineering, ingest, store
from features.validation_records import validation_evidence
from pipelines.results import DataVersions, StoreState, TrainingOutcome
from pipelines.steps import distributed, log, tracking, tuning
from pipelines.steps.training import native_threads


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


def latest_week(settings: Settings) -> str:
    """The newest accepted batch, as a person would name it: ``week 12`` (synthetic) or its batch name."""
    accepted = ingest.accepted_batches(settings)
    if not accepted:
        return "no data"
    if settings.data.source == "synthetic":
        return f"week {ingest.week_of(ingest.lender_config(settings), accepted[-1])}"
    return accepted[-1].stem


def run_name(settings: Settings, trigger: dict[str, str] | None) -> str:
    """What the run is: ``train week 12``, or ``retrain after window 3 (covariate_shift)``."""
    level = "" if settings.level >= 3 else f", level {settings.level}"
    if trigger and trigger.get("trigger_label"):
        return f"retrain after {trigger['trigger_label']}{level}"
    return f"train {latest_week(settings)}{level}"


def training_set(settings: Settings, state: StoreState | None) -> pd.DataFrame:
    """Every accepted application with the features known at its time: the point-in-time join."""
    return training_data(settings, ingest.load_raw(settings), state)


def train(
    settings: Settings,
    frame: pd.DataFrame,
    versions: DataVersions,
    state: StoreState | None,
    trigger: dict[str, str] | None = None,
) -> TrainingOutcome:
    """Search the configured space on ``frame`` (each candidate a nested run), refit the best, log it."""
    columns = store.model_feature_columns(settings)
    metric = settings.training.search.primary_metric

    def report(scored: tuning.ScoredCandidate) -> None:
        note = "" if scored.eligible else " (misses a gate floor or ceiling)"
        log().info("candidate %s: validation %s %.4f%s", scored.candidate.label, metric, scored.metrics[metric], note)

    constraints = tuning.Constraints(
        {str(k): v for k, v in settings.gate.minimums.items()}, {str(k): v for k, v in settings.gate.maximums.items()}
    )
    started = time.perf_counter()
    with native_threads(settings.training, len(frame)):
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
    search_rows = tracking.search_params(settings, scored)
    if search_rows:
        log().info(
            "candidates fitted on %s rows (training.search.max_rows %s), the chosen one refitted on %d",
            search_rows["search_fit_rows"],
            search_rows["search_max_rows"],
            best.metrics["train_rows"],
        )
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
    # The evidence that this data version passed its contract: each batch's validation record.
    validated = validation_evidence(ingest.accepted_batches(settings), versions.raw)
    lineage["data_validation"] = "passed" if validated["passed"] else "failed"
    logged = tracking.log_training_run(
        settings,
        best,
        data_version=versions.raw,
        training_frame=frame,
        extra_tags=lineage,
        candidates=scored,
        run_name=run_name(settings, trigger),
        data_validation=validated,
    )
    log().info(
        "best of %d: %s; holdout %s %.4f; MLflow run %s",
        len(scored),
        best.family,
        metric,
        best.metrics[metric],
        logged.run_id,
    )
    tracking.log_metric(settings, logged.run_id, "search_seconds", search_seconds)
    return TrainingOutcome(logged.run_id, logged.model_uri, best, len(scored), search_seconds)
