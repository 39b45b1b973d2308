"""The training pipeline as a Prefect flow: it wires the steps of ``pipelines/steps/``, which do the work.

    ingest -> validate -> engineer features -> version -> feature store -> training set -> train -> gate -> register
                 |               |                                                                  |
                 v               v                                                                  v
        batch quarantined   table quarantined  (either stops the run before training)    rejected: registered nowhere

Each step's wall time and peak memory go on the result (``PipelineResult.steps``).

At ``level: 2`` (the maturity ladder, pipelines/levels.py) the feature-store step is
skipped: training joins the engineered table directly, and the search tunes the
hand-picked family only; a drift alert follows the gate. ``level: 3`` runs it all.
"""

from __future__ import annotations

from typing import cast

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed

from core.timing import StepClock
from pipelines.flows.parameters import SettingsParameter
from pipelines.results import PipelineResult
from pipelines.steps import data, model_selection, monitor, register

# Retries go on the steps that touch the file system or a store and can fail for a
# passing reason; validation, engineering and training are deterministic: no retries.
ingest = task(name="ingest", cache_policy=NO_CACHE)(data.land)
validate = task(name="validate", cache_policy=NO_CACHE)(data.validate)
engineer = task(name="engineer-features", cache_policy=NO_CACHE)(data.engineer)
version = task(name="version", cache_policy=NO_CACHE)(data.version)
feature_store = task(name="feature-store", cache_policy=NO_CACHE)(data.serve_features)
training_set = task(name="training-set", cache_policy=NO_CACHE)(model_selection.training_set)
train = task(name="train", cache_policy=NO_CACHE)(model_selection.train)
gate_and_register = task(name="gate-and-register", cache_policy=NO_CACHE)(register.gate_and_register_step)
drift_alert = task(name="drift-alert", cache_policy=NO_CACHE)(monitor.drift_alert)


def _run_name() -> str:
    """``retrain after window 3 (covariate_shift)`` when the monitor started it, else ``train (level 3)``."""
    from prefect.runtime import flow_run

    trigger = flow_run.parameters.get("trigger") or {}
    if trigger.get("trigger_label"):
        return f"retrain after {trigger['trigger_label']}"
    settings = flow_run.parameters.get("settings")
    return f"train (level {getattr(settings, 'level', '?')})"


@flow(name="training-pipeline", flow_run_name=_run_name, log_prints=True)
def training_pipeline(settings: SettingsParameter, trigger: dict[str, str] | None = None) -> PipelineResult:
    """Ingest, validate, engineer, version, serve features and train: one tracked, reproducible run.

    ``trigger`` says why it runs when the monitor started it (monitoring/policy.py
    ``Trigger.as_tags``); it is recorded on the training run.
    """
    retries, delay = settings.prefect.task_retries, settings.prefect.task_retry_delay_seconds
    clock = StepClock(memory=True)  # each step's wall time and peak memory, for the summary and bench-scale
    waiting = clock.call("ingest", ingest.with_options(retries=retries, retry_delay_seconds=delay), settings)
    verdicts = clock.call("validate", validate, settings, waiting)
    tables = clock.call("features", engineer, settings)
    versions = clock.call("version", version.with_options(retries=retries, retry_delay_seconds=delay), settings)
    try:
        data.stop_if_quarantined(verdicts)
    except data.DataValidationError as stopped:
        # A refused batch is the gate working, not a crash: the run fails with the checks it
        # names (the caller gets the error back) and no traceback in the log.
        return cast(PipelineResult, Failed(message=str(stopped), data=stopped))
    state = (
        clock.call("feature store", feature_store.with_options(retries=retries, retry_delay_seconds=delay), settings)
        if settings.level >= 3
        else None
    )
    frame = clock.call("training set", training_set, settings, state)
    trained = clock.call("train", train, settings, frame, versions, state, trigger)
    del frame  # the candidate keeps its own split; the whole joined set can go
    registration = clock.call("gate and register", gate_and_register, settings, trained, versions)
    alert = clock.call("drift alert", drift_alert, settings, verdicts) if settings.level == 2 else None
    return PipelineResult(
        steps=clock.steps,
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
