"""The ``monitor`` flow: judge new windows of the prediction log; retrain when the policy says so.

    prediction log ──► windows ──► drift report ─────┐
    delayed labels ──► labelled windows ──► quality ─┴─► trigger policy ──► training-pipeline (subflow)
                                                                  └─► canary (when given a service URL)

The work is done by plain functions in monitoring/; this flow composes them, keeps the
monitor's memory (``.state/monitoring/state.json``) and starts the retraining as a
Prefect subflow, so one flow run shows the whole story: what drifted, why it
retrained, and what the retrained model became.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from core.settings import Settings, load_settings
from features.validation import validate_served_window
from governance import audit
from monitoring import policy, reports, windows
from monitoring.reference import reference_for
from pipelines import registry
from pipelines.flows import PipelineResult, training_pipeline

MAX_PENDING = 20  # windows still waiting for labels; older ones are let go


@dataclass
class JudgedWindow:
    report: reports.WindowReport
    decision: str


@dataclass
class MonitorResult:
    champion: str
    windows: list[JudgedWindow] = field(default_factory=list)
    quality: list[str] = field(default_factory=list)
    trigger: policy.Trigger | None = None
    retrained: PipelineResult | None = None
    canary: str | None = None


@task(name="judge-window", cache_policy=NO_CACHE)
def judge_window_task(settings: Settings, version: str, window: windows.Window) -> reports.WindowReport:
    """Drift and data-quality reports for one window; a data-quality failure alerts, never stops."""
    logger = get_run_logger()
    reference = reference_for(settings, version)
    report, snapshot = reports.build_drift_report(settings, reference, window.rows, window.name)
    reports.add_to_workspace(settings, snapshot)
    request_fields = [c for c in window.rows.columns if c in {*settings.schema_.numeric, *settings.schema_.categorical}]
    checked = validate_served_window(window.rows[request_fields], settings, window.name)
    if not checked.success:
        report.data_quality_failures = [str(f) for f in checked.failures]
        logger.error(
            "ALERT data quality: %s broke %d check(s) of the training contract (the service keeps serving):\n    %s",
            window.name,
            len(checked.failures),
            "\n    ".join(report.data_quality_failures),
        )
    drifted = ", ".join(str(c) for c in report.drifted_columns[:5]) or "none"
    logger.info(
        "%s: %d rows, %.0f%% of features drifted (%s); report %s",
        window.name,
        report.rows,
        100 * report.drift_share,
        drifted,
        report.html,
    )
    return report


@task(name="judge-quality", cache_policy=NO_CACHE)
def judge_quality_task(
    settings: Settings, pending: policy.PendingQuality, labelled: Any
) -> tuple[reports.Quality, str]:
    reference = reference_for(settings, pending.model_version)
    quality, html, snapshot = reports.build_quality_report(settings, reference, labelled, pending.window)
    reports.add_to_workspace(settings, snapshot)
    return quality, html


@flow(name="monitor", log_prints=True)
def monitor(
    params: str | None = None,
    overrides: dict[str, Any] | None = None,
    retrain: bool = True,
    service_url: str | None = None,
) -> MonitorResult:
    """Judge the windows logged since the last run, then the windows whose labels arrived."""
    logger = get_run_logger()
    settings = load_settings(params, overrides)
    champion = registry.aliases(settings).get(registry.CHAMPION)
    if champion is None:
        raise RuntimeError("no champion in the registry: run the training pipeline first")
    result = MonitorResult(champion)
    state = policy.read_state(settings)
    predictions = windows.load_predictions(settings)
    now = dt.datetime.now(dt.UTC)
    cfg = settings.monitoring

    fresh = windows.next_windows(predictions, state.cursor, cfg.window_rows, cfg.min_rows)
    if not fresh:
        logger.info("no window to judge yet (a window needs %d new predictions)", cfg.min_rows)
    for window in fresh:
        report = judge_window_task(settings, champion, window)
        decision, state = policy.judge_drift(report, state, cfg, now)
        pending = policy.PendingQuality(window.name, window.start, window.end, champion)
        state = replace(state, cursor=window.end, pending_quality=(*state.pending_quality, pending)[-MAX_PENDING:])
        result.windows.append(JudgedWindow(report, decision.note))
        logger.info("policy on %s: %s", window.name, decision.note)
        if decision.trigger and result.trigger is None:
            result.trigger = decision.trigger

    labels = windows.load_labels(settings)
    waiting = []
    for pending in state.pending_quality:
        if pending.model_version != champion:
            result.quality.append(f"{pending.window}: judged no more (v{pending.model_version} is no longer champion)")
            continue
        rows = windows.between(predictions, pending.start, pending.end)
        labelled = windows.with_labels(rows, labels, settings.schema_.label)
        if len(labelled) < cfg.quality.min_labelled_rows:
            waiting.append(pending)
            continue
        quality, html = judge_quality_task(settings, pending, labelled)
        decision, state = policy.judge_quality(pending.window, quality, html, state, cfg, now)
        result.quality.append(f"{pending.window}: {decision.note}")
        logger.info("quality of %s: %s", pending.window, decision.note)
        if decision.trigger and result.trigger is None:
            result.trigger = decision.trigger
    state = replace(state, pending_quality=tuple(waiting))
    policy.write_state(settings, state)

    if result.trigger is not None and retrain:
        logger.warning("retraining: %s", result.trigger.reason)
        audit.record(
            settings,
            "retrain_trigger",
            actor="monitor",
            version=champion,
            reason=result.trigger.reason,
            details={
                "kind": result.trigger.kind,
                "window": result.trigger.window,
                "report": result.trigger.report,
                "drifted_features": result.trigger.drifted_features[:10],
            },
        )
        result.retrained = training_pipeline(params, overrides, trigger=result.trigger.as_tags())
        if service_url and result.retrained.registration.alias == registry.CHALLENGER:
            from serving.controller import run_canary

            run = run_canary(settings, service_url, report=logger.info)
            result.canary = run.outcome if run else None
    return result
