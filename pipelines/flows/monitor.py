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
retrained model became. A canary's outcome is the run's final state (``Promoted``,
``Rolled back``, ``Awaiting approval``, ``Inconclusive``) and a ``<project>-canary-outcome``
artifact with its steps, so a rollback is visible in the Prefect UI, not only in logs.

``traffic`` (``{"week": "15", "scenario": "covariate_shift"}``) says what the sender
knows about the traffic (the loop does): windows are then named for it in Evidently,
and a retrained challenger's canary runs under the next week's traffic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import cast

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed

from core import registry
from features import ingest
from monitoring import policy, report_queue, windows
from monitoring.labels import WindowLabel
from pipelines.flows.parameters import SettingsParameter
from pipelines.flows.training import training_pipeline
from pipelines.results import MonitorResult, Registration
from pipelines.steps import log
from pipelines.steps import monitor as steps
from pipelines.steps.register import registration_of_flow_run

judge_window = task(name="judge-window", cache_policy=NO_CACHE)(steps.judge_window)
judge_quality = task(name="judge-quality", cache_policy=NO_CACHE)(steps.judge_quality)


def _run_name() -> str:
    """``monitor week 15 (covariate_shift)`` in the Prefect UI when the traffic is known, else ``monitor``."""
    from prefect.runtime import flow_run

    traffic = flow_run.parameters.get("traffic") or {}
    if not traffic.get("week"):
        return "monitor"
    return f"monitor week {traffic['week']}" + (f" ({traffic['scenario']})" if traffic.get("scenario") else "")


OUTCOME_STATES = {"promoted": "Promoted", "rolled_back": "Rolled back", "awaiting_approval": "Awaiting approval"}


@flow(name="monitor", flow_run_name=_run_name, log_prints=True)
def monitor(
    settings: SettingsParameter,
    retrain: bool = True,
    services: list[str] | None = None,
    traffic: dict[str, str] | None = None,
    retrain_deployment: str | None = None,
) -> MonitorResult:
    """Judge the windows logged since the last run, then the windows whose labels arrived.

    ``services``: the running service's URL, or every replica's; a retrained challenger
    goes through its canary there. Without it, the challenger waits for ``make canary``.
    ``retrain_deployment`` (``training-pipeline/<project>``): retrain by running that
    deployment, on its work pool's worker, instead of a subflow in this process.
    """
    result = MonitorResult(steps.champion_version(settings))
    report_queue.resume(settings)  # full reports a stopped run left unwritten
    state = policy.read_state(settings)
    predictions = windows.load_predictions(settings, result.log_problems)
    for problem in result.log_problems:
        log().error("%s", problem)
    now = dt.datetime.now(dt.UTC)
    labels: dict[str, WindowLabel] = {}

    for window in steps.fresh_windows(settings, predictions, state):
        labels[window.name] = steps.label_for(state, result.champion, traffic)
        earlier = predictions[predictions[windows.LOGGED_AT] < window.start] if len(predictions) else None
        report = judge_window(settings, result.champion, window, labels[window.name], earlier)
        state = steps.decide_on_drift(settings, result, report, window, state, now)

    delivered, waiting = windows.load_labels(settings), []
    for pending in state.pending_quality:
        if pending.model_version != result.champion:
            result.quality.append(f"{pending.window}: judged no more (v{pending.model_version} is no longer champion)")
            continue
        rows = steps.labelled(settings, pending, predictions, delivered)
        if len(rows) < settings.monitoring.quality.min_labelled_rows:
            waiting.append(pending)
            continue
        judged = judge_quality(settings, pending, rows, labels.get(pending.window))
        state = steps.decide_on_quality(settings, result, pending, judged, state, now)
    policy.write_state(settings, replace(state, pending_quality=tuple(waiting)))

    if result.trigger is not None and retrain:
        tags = steps.record_trigger(settings, result, labels.get(result.trigger.window))
        if retrain_deployment:
            result.registration = retrain_through(settings, retrain_deployment, tags)
        else:
            result.retrained = training_pipeline(settings, trigger=tags)
            result.registration = result.retrained.registration
        if services and result.registration.alias == registry.CHALLENGER:
            return canary_outcome(settings, result, services, traffic)
    return result


def retrain_through(settings: SettingsParameter, deployment: str, trigger: dict[str, str]) -> Registration:
    """Run the training deployment with the trigger, wait for it, and read back what it registered.

    The run is linked to this one as a subflow in the Prefect UI; the deployment brings its
    own parameters (its params file), the trigger is added to them.
    """
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    log().info("retraining through the deployment %s", deployment)
    # Called from sync code, Prefect's sync-compatible call returns the flow run itself.
    run = cast(FlowRun, run_deployment(deployment, parameters={"trigger": trigger}, poll_interval=2))
    state = run.state
    if state is None or not state.is_completed():
        ended = f"{state.name}: {state.message}" if state is not None else "no state"
        return Registration(f"the retraining run {run.name} ended {ended}", [], False, None, None, "nothing registered")
    return registration_of_flow_run(settings, str(run.id))


def canary_outcome(
    settings: SettingsParameter, result: MonitorResult, services: list[str], traffic: dict[str, str] | None
) -> MonitorResult:
    """The retrained challenger's canary; its outcome becomes the flow run's state and an artifact."""
    from monitoring.canary_quality import quality_probe
    from serving.controller import run_canary

    if traffic and traffic.get("week"):
        from pipelines.steps.traffic import canary_under_traffic

        (week,) = ingest.traffic_weeks(settings, 1)  # the week after the one just served and landed
        scenario = traffic.get("scenario", "none")
        log().info("canary of the challenger under week %d of traffic (%s)", week.number, scenario)
        result.canary, result.canary_traffic = canary_under_traffic(settings, services, week, scenario, log().info)
    else:
        result.canary = run_canary(settings, services, report=log().info, quality=quality_probe(settings))
    run = result.canary
    outcome = run.outcome if run is not None else "none"
    name = OUTCOME_STATES.get(outcome, "Inconclusive")
    version = run.version if run is not None else "?"
    steps_taken = "\n".join(f"- {line}" for line in (run.history if run is not None else []))
    create_markdown_artifact(
        f"# Canary of v{version}: {name.lower()}\n\n{steps_taken}\n\nRegistry aliases after it: "
        + ", ".join(f"{k}=v{v}" for k, v in sorted(registry.aliases(settings).items())),
        key=f"{settings.slug}-canary-outcome",  # artifact keys are the server's: one per project
        description=f"v{version} {name.lower()}",
    )
    return cast(MonitorResult, Completed(data=result, name=name, message=f"canary of v{version}: {name.lower()}"))
