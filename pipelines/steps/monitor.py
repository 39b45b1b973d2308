"""The monitoring steps: judge windows of served traffic, apply the trigger policy, record why a retraining starts.

Plain functions over ``monitoring/``; the ``monitor`` flow (``pipelines/flows/monitor.py``)
wires them, and the training flow uses ``drift_alert`` at Level 2.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd

from core import registry
from core.settings import Settings
from features.validation import validate_served_window
from governance import audit
from monitoring import decisions, policy, report_queue, reports, skew, windows
from monitoring import drift_alert as alerts
from monitoring.labels import WindowLabel
from monitoring.reference import reference_for
from pipelines.results import BatchVerdict, JudgedWindow, MonitorResult
from pipelines.steps import log

MAX_PENDING = 20  # windows still waiting for labels; older ones are let go


def champion_version(settings: Settings) -> str:
    champion = registry.alias_version(settings, registry.CHAMPION)
    if champion is None:
        raise RuntimeError("no champion in the registry: run the training pipeline first")
    return champion


def fresh_windows(settings: Settings, predictions: pd.DataFrame, state: policy.MonitorState) -> list[windows.Window]:
    """The windows logged since the monitor last looked; a short tail waits for more traffic."""
    cfg = settings.monitoring
    found = windows.next_windows(predictions, state.cursor, cfg.window_rows, cfg.min_rows)
    if not found:
        log().info("no window to judge yet (a window needs %d new predictions)", cfg.min_rows)
    return found


def label_for(state: policy.MonitorState, version: str, traffic: dict[str, str] | None, offset: int = 0) -> WindowLabel:
    """The next window's name in words: its number, the model serving, the week and scenario if known."""
    known = traffic or {}
    return WindowLabel(
        state.windows_judged + 1 + offset, version, str(known.get("week", "")), str(known.get("scenario", ""))
    )


def judge_window(
    settings: Settings,
    version: str,
    window: windows.Window,
    label: WindowLabel | None = None,
    earlier: pd.DataFrame | None = None,
) -> reports.WindowReport:
    """Drift verdicts and data-quality checks of one window; its full report is queued.

    The verdicts are Evidently's drift tests alone (``monitoring/decisions.py``); the full
    report follows in the background (``monitoring/report_queue.py``). A data-quality
    failure alerts, never stops. ``earlier``, the log before the window, tells the
    serving-skew check which events were served before (``monitoring/skew.py``).
    """
    reference = reference_for(settings, version)
    report = decisions.judge(settings, reference, window.rows, window.name)
    job = report_queue.ReportJob("drift", window.name, version, label)
    report_queue.enqueue(settings, job, window.rows, reference)
    described = {*settings.schema_.numeric, *settings.schema_.categorical}
    request_fields = [c for c in window.rows.columns if c in described]
    checked = validate_served_window(window.rows[request_fields], settings, window.name)
    if not checked.success:
        report.data_quality_failures = [str(f) for f in checked.failures]
        log().error(
            "ALERT data quality: %s broke %d check(s) of the training contract (the service keeps serving):\n    %s",
            window.name,
            len(checked.failures),
            "\n    ".join(report.data_quality_failures),
        )
    report.serving_skew = skew.check_window(settings, window.name, window.rows, earlier)
    skew.record(settings, report.serving_skew)
    if report.serving_skew.alert:
        log().error(
            "ALERT %s in %s, above monitoring.skew.max_share %.1f%%: the online store is behind the data.\n    %s",
            report.serving_skew,
            window.name,
            100 * settings.monitoring.skew.max_share,
            "\n    ".join(report.serving_skew.examples),
        )
    drifted = ", ".join(str(c) for c in report.drifted_columns[:5]) or "none"
    log().info(
        "%s: %d rows, %.0f%% of features drifted (%s); %s; report %s",
        window.name,
        report.rows,
        100 * report.drift_share,
        drifted,
        report.serving_skew,
        report.html,
    )
    return report


def decide_on_drift(
    settings: Settings,
    result: MonitorResult,
    report: reports.WindowReport,
    window: windows.Window,
    state: policy.MonitorState,
    now: dt.datetime,
) -> policy.MonitorState:
    """The trigger policy's answer to one drift report; the window then waits for its labels."""
    decision, state = policy.judge_drift(report, state, settings.monitoring, now)
    pending = policy.PendingQuality(window.name, window.start, window.end, result.champion)
    state = replace(state, cursor=window.end, pending_quality=(*state.pending_quality, pending)[-MAX_PENDING:])
    result.windows.append(JudgedWindow(report, decision.note))
    log().info("policy on %s: %s", window.name, decision.note)
    if decision.trigger and result.trigger is None:
        result.trigger = decision.trigger
    return state


def labelled(
    settings: Settings, pending: policy.PendingQuality, predictions: pd.DataFrame, labels: pd.DataFrame
) -> pd.DataFrame:
    """The window's predictions whose labels have arrived, with them."""
    rows = windows.between(predictions, pending.start, pending.end)
    return windows.with_labels(rows, labels, settings.schema_.label)


def judge_quality(
    settings: Settings, pending: policy.PendingQuality, rows: pd.DataFrame, label: WindowLabel | None = None
) -> tuple[reports.Quality, str]:
    """The quality of a labelled window, against the reference of the model that served it; its report queued."""
    reference = reference_for(settings, pending.model_version)
    quality = decisions.quality(settings, reference, rows)
    job = report_queue.ReportJob("quality", pending.window, pending.model_version, label)
    return quality, str(report_queue.enqueue(settings, job, rows, reference))


def decide_on_quality(
    settings: Settings,
    result: MonitorResult,
    pending: policy.PendingQuality,
    judged: tuple[reports.Quality, str],
    state: policy.MonitorState,
    now: dt.datetime,
) -> policy.MonitorState:
    quality, html = judged
    decision, state = policy.judge_quality(pending.window, quality, html, state, settings.monitoring, now)
    result.quality.append(f"{pending.window}: {decision.note}")
    log().info("quality of %s: %s", pending.window, decision.note)
    if decision.trigger and result.trigger is None:
        result.trigger = decision.trigger
    return state


def record_trigger(settings: Settings, result: MonitorResult, label: WindowLabel | None = None) -> dict[str, str]:
    """Write why the retraining starts into the audit trail; return it as the new run's tags.

    ``trigger_label`` names the window in words (``window 3 (covariate_shift)``): the
    retraining's MLflow run is named after it.
    """
    trigger = result.trigger
    if trigger is None:
        raise ValueError("no trigger to record")
    log().warning("retraining: %s", trigger.reason)
    audit.record(
        settings,
        "retrain_trigger",
        actor="monitor",
        version=result.champion,
        reason=trigger.reason,
        details={
            "kind": trigger.kind,
            "window": trigger.window,
            "report": trigger.report,
            "drifted_features": trigger.drifted_features[:10],
        },
    )
    named = f"window {label.number}" if label else trigger.window
    named += f" ({label.scenario if label and label.scenario else trigger.kind})"
    return {**trigger.as_tags(), "trigger_label": named}


def drift_alert(settings: Settings, batches: list[BatchVerdict]) -> alerts.DriftAlert | None:
    """Level 2: the newest accepted batch against the champion's reference; an alert, never a retraining."""
    accepted = sorted(v.name for v in batches if v.passed)
    if not accepted:
        log().info("drift alert: no new batch to check")
        return None
    alert = alerts.check_batch(settings, accepted[-1])
    if alert is None:
        log().info("drift alert: no champion to compare with")
    elif alert.drifted:
        log().warning(
            "DRIFT ALERT %s: %.0f%% of features drifted (%s); report %s. Level 2 retrains only when a person "
            "decides to (make pipeline LEVEL=2)",
            alert.window,
            100 * alert.share,
            ", ".join(alert.ranked[:5]),
            alert.html,
        )
    else:
        log().info(
            "drift check %s: no drift (%.0f%% of features); report %s", alert.window, 100 * alert.share, alert.html
        )
    return alert
