"""The ``monitor`` flow: judge new windows of the prediction log; retrain when the policy says so.

    prediction log ──► windows ──► drift verdicts ─────┐
    delayed labels ──► labelled windows ──► ROC AUC ───┴─► trigger policy ──► training-pipeline (subflow)
                            │                                       └─► canary (when given a service URL)
                            └─► full Evidently reports (HTML, JSON, workspace), written in the background

The verdicts are Evidently's tests and metrics alone (monitoring/decisions.py); the
full reports are queued (monitoring/report_queue.py) and written while the flow goes
on. Whoever runs the flow waits for them before exiting (``report_queue.wait()``).

It wires the steps of ``pipelines/steps/monitor.py``, keeps the monitor's memory
(``.state/monitoring/state.json``) and starts the retraining as a Prefect subflow, so
one flow run shows the whole story: what drifted, why it retrained, and what the
retrained model became.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from core import registry
from monitoring import policy, report_queue, windows
from pipelines.flows.parameters import SettingsParameter
from pipelines.flows.training import training_pipeline
from pipelines.results import MonitorResult
from pipelines.steps import log
from pipelines.steps import monitor as steps

judge_window = task(name="judge-window", cache_policy=NO_CACHE)(steps.judge_window)
judge_quality = task(name="judge-quality", cache_policy=NO_CACHE)(steps.judge_quality)


@flow(name="monitor", log_prints=True)
def monitor(settings: SettingsParameter, retrain: bool = True, service_url: str | None = None) -> MonitorResult:
    """Judge the windows logged since the last run, then the windows whose labels arrived."""
    result = MonitorResult(steps.champion_version(settings))
    report_queue.resume(settings)  # full reports a stopped run left unwritten
    state = policy.read_state(settings)
    predictions = windows.load_predictions(settings, result.log_problems)
    for problem in result.log_problems:
        log().error("%s", problem)
    now = dt.datetime.now(dt.UTC)

    for window in steps.fresh_windows(settings, predictions, state):
        report = judge_window(settings, result.champion, window)
        state = steps.decide_on_drift(settings, result, report, window, state, now)

    labels, waiting = windows.load_labels(settings), []
    for pending in state.pending_quality:
        if pending.model_version != result.champion:
            result.quality.append(f"{pending.window}: judged no more (v{pending.model_version} is no longer champion)")
            continue
        rows = steps.labelled(settings, pending, predictions, labels)
        if len(rows) < settings.monitoring.quality.min_labelled_rows:
            waiting.append(pending)
            continue
        judged = judge_quality(settings, pending, rows)
        state = steps.decide_on_quality(settings, result, pending, judged, state, now)
    policy.write_state(settings, replace(state, pending_quality=tuple(waiting)))

    if result.trigger is not None and retrain:
        tags = steps.record_trigger(settings, result)
        result.retrained = training_pipeline(settings, trigger=tags)
        if service_url and result.retrained.registration.alias == registry.CHALLENGER:
            from serving.controller import run_canary

            run = run_canary(settings, service_url, report=log().info)
            result.canary = run.outcome if run else None
    return result
