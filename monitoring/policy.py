"""The retraining trigger policy: plain functions over judged windows and the monitor's memory.

Configured in ``monitoring.trigger`` (params.yaml):

* ``consecutive_windows`` drifted windows in a row fire it (one drifted window can be noise);
* a drift in any of ``critical_features`` fires it at once;
* with ``on_quality_drop``, a window whose labelled ROC AUC fell more than
  ``monitoring.quality.max_roc_auc_drop`` below the reference fires it;
* nothing fires within ``cooldown_minutes`` of the last retraining: the new model
  needs traffic of its own before it is judged.

Windows under ``monitoring.min_rows`` never reach the policy (monitoring/windows.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core import loop_store
from core.sections import MonitoringSettings
from core.settings import Settings
from monitoring.reports import Quality, WindowReport


@dataclass(frozen=True)
class PendingQuality:
    """A judged window whose labels have not all arrived yet."""

    window: str
    start: str
    end: str
    model_version: str


@dataclass(frozen=True)
class MonitorState:
    cursor: str | None = None  # logged_at of the last prediction judged
    consecutive_drifted: int = 0
    last_retrain_at: str | None = None
    windows_judged: int = 0
    pending_quality: tuple[PendingQuality, ...] = ()


def read_state(settings: Settings) -> MonitorState:
    """The monitor's memory: a file in the state folder, or on ``loop_store``, where any runner finds it."""
    raw = loop_store.read_json(settings, loop_store.MONITOR_STATE)
    if raw is None:
        return MonitorState()
    raw["pending_quality"] = tuple(PendingQuality(**p) for p in raw.get("pending_quality", []))
    return MonitorState(**raw)


def write_state(settings: Settings, state: MonitorState) -> None:
    """Replace the memory whole (a crash leaves the old state, never half of one)."""
    loop_store.write_json(settings, loop_store.MONITOR_STATE, asdict(state), indent=1)


@dataclass(frozen=True)
class Trigger:
    """Why a retraining starts; recorded on the new MLflow run and in the audit trail."""

    window: str
    kind: str  # drift | critical_feature | quality_drop
    reason: str
    drifted_features: list[dict[str, Any]] = field(default_factory=list)
    report: str = ""

    def as_tags(self) -> dict[str, str]:
        top = ", ".join(f["column"] for f in self.drifted_features[:5])
        return {
            "trigger": self.kind,
            "trigger_window": self.window,
            "trigger_reason": self.reason[:500],
            "trigger_features": top,
            "trigger_report": self.report,
        }


@dataclass(frozen=True)
class Decision:
    retrain: bool
    note: str
    trigger: Trigger | None = None


def _ranked(report: WindowReport) -> list[dict[str, Any]]:
    return [
        {"column": c.column, "method": c.method, "score": c.score, "threshold": c.threshold, "severity": c.severity}
        for c in report.drifted_columns
    ]


def judge_drift(
    report: WindowReport, state: MonitorState, policy: MonitoringSettings, now: dt.datetime
) -> tuple[Decision, MonitorState]:
    """The policy's answer to one drift report, and the monitor's memory after it."""
    consecutive = state.consecutive_drifted + 1 if report.drifted else 0
    state = replace(state, consecutive_drifted=consecutive, windows_judged=state.windows_judged + 1)
    trigger = policy.trigger
    critical = [c for c in report.drifted_columns if c.column in trigger.critical_features]
    if report.prediction is not None and report.prediction.drifted and "probability" in trigger.critical_features:
        critical.append(report.prediction)
    ranked = _ranked(report)
    if critical:
        names = ", ".join(str(c) for c in critical)
        candidate = Trigger(
            report.window, "critical_feature", f"critical features drifted: {names}", ranked, report.html
        )
    elif consecutive >= trigger.consecutive_windows:
        shown = ", ".join(str(c) for c in report.drifted_columns[:5])
        reason = (
            f"{consecutive} drifted window(s) in a row (policy: {trigger.consecutive_windows}); "
            f"{report.drift_share:.0%} of features drifted (threshold {policy.drift.share:.0%}); most: {shown}"
        )
        candidate = Trigger(report.window, "drift", reason, ranked, report.html)
    elif report.drifted:
        return Decision(
            False, f"drifted ({report.drift_share:.0%}), {consecutive} of {trigger.consecutive_windows} in a row"
        ), state
    else:
        return Decision(False, f"no drift ({report.drift_share:.0%} of features drifted)"), state
    return _fire(candidate, state, policy, now)


def judge_quality(
    window: str, quality: Quality, report: str, state: MonitorState, policy: MonitoringSettings, now: dt.datetime
) -> tuple[Decision, MonitorState]:
    """The policy's answer to a window's model quality once its labels have joined."""
    limit = policy.quality.max_roc_auc_drop
    summary = (
        f"ROC AUC {quality.roc_auc:.3f} on {quality.labelled_rows} labelled predictions vs "
        f"{quality.reference_roc_auc:.3f} on the reference (drop {quality.drop:+.3f}, allowed {limit})"
    )
    if quality.drop <= limit:
        return Decision(False, f"quality holds: {summary}"), state
    if not policy.trigger.on_quality_drop:
        return Decision(False, f"quality dropped (trigger off): {summary}"), state
    return _fire(Trigger(window, "quality_drop", f"quality dropped: {summary}", [], report), state, policy, now)


def _fire(
    trigger: Trigger, state: MonitorState, policy: MonitoringSettings, now: dt.datetime
) -> tuple[Decision, MonitorState]:
    if state.last_retrain_at is not None:
        ready = dt.datetime.fromisoformat(state.last_retrain_at) + dt.timedelta(minutes=policy.trigger.cooldown_minutes)
        if now < ready:
            return Decision(False, f"cooldown until {ready:%H:%M:%S} UTC: {trigger.reason}"), state
    return Decision(True, trigger.reason, trigger), replace(
        state, consecutive_drifted=0, last_retrain_at=now.isoformat()
    )
