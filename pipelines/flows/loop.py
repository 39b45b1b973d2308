"""The whole Level-3 loop on one machine: ``make pipeline``.

    train + register ─► serve ─► normal traffic ─► monitor (no alarm)
                                  drifted traffic ─► monitor ─► drift ─► retrain (subflow) ─► gate
                                                                   ─► canary under traffic ─► promoted or rolled back

Simulated weeks follow the history: the synthetic lender's next weeks, or the held-back
latest weeks of your own file (``data.source: file``), replayed. Each week's events are
sent to the service over HTTP, then their labels are delivered (as if weeks later) and
the answered events land as the next batch of training data, exactly the data one
would retrain on. The service runs on a free loopback port and is stopped at the end,
whatever happens.
"""

from __future__ import annotations

from typing import Any

from core import processes, registry
from core.settings import Settings
from core.timing import StepClock, step_finished
from features import ingest
from monitoring import report_queue
from pipelines import warmup
from pipelines.flows.monitor import monitor
from pipelines.flows.training import training_pipeline
from pipelines.results import LoopResult, PipelineResult, WeekOfTraffic
from pipelines.steps.traffic import serve_week
from serving import launch

# The training step after which the service has what it needs to start: the Feast
# registry and online store. It then imports and loads while the model is searched,
# gated and governed, and becomes ready when the first champion is named.
SERVICE_NEEDS = "feature store"


class NoChampion(RuntimeError):
    """The loop cannot serve: no model has passed the gate yet."""


def no_champion_message(registration: Any) -> str:
    """Why the first model is not serving, rule by rule, each with the file and key that set its bar."""
    refusals = registration.refusals or [registration.verdict]
    return (
        "no champion, so there is nothing to serve: the first model "
        + ("was refused" if registration.version else "did not pass the validation gate")
        + ":\n  - "
        + "\n  - ".join(refusals)
        + "\nChange what each line names (the data, or the bar at that file and key), then `make pipeline` again."
    )


def run_loop(settings: Settings, report: Any = print, since: float | None = None) -> LoopResult:
    """Train, then serve on a free loopback port through the simulated weeks; stop the server.

    Each step's wall time goes on the result (``LoopResult.steps``) for the summary; the
    first, "start", counts from ``since`` (``time.perf_counter()`` when the CLI began), so
    the imports before this call are in it. Two waits overlap other work: Prefect's API
    starts while the libraries import (``pipelines/warmup.py``), and the service starts
    as soon as the features are served, while the first model is still searched, gated
    and governed.
    """
    clock = StepClock()
    with clock.step("start", since=since):
        warmup.prepare(settings)
    report("== 1. train, gate and register")
    log = settings.state / "serving" / "pipeline-server.log"
    service = launch.ServiceStart(settings, log)
    try:
        with clock.step("train"):
            training = _with_service_started_early(settings, service)
        if registry.alias_version(settings, registry.CHAMPION) is None:
            raise NoChampion(no_champion_message(training.registration))
        with clock.step("serve"):
            _, url = service.ready()  # what is left of its start
        report(f"== 2. serving the champion on {url} (log: {log})")
        result = LoopResult(training, url, steps=clock.steps)
        weeks_of_traffic(settings, result, report, first_step=3, clock=clock)
        return result
    finally:
        service.stop()
        with clock.step("reports"):
            report_queue.wait()  # the full Evidently reports still being written


def _with_service_started_early(settings: Settings, service: launch.ServiceStart) -> PipelineResult:
    """The first training; the service starts as soon as its features are served (Feast)."""

    def started_after(step: str) -> None:
        if step == SERVICE_NEEDS:
            service.start()

    token = step_finished.set(started_after)
    try:
        return training_pipeline(settings)
    finally:
        step_finished.reset(token)


def drift_demo(settings: Settings, url: str, report: Any = print) -> LoopResult:
    """The monitoring half of the loop against a service that is already running at ``url``."""
    if registry.alias_version(settings, registry.CHAMPION) is None:
        raise NoChampion("no champion yet: run `make pipeline` (or `make train`) first")
    processes.wait_until(None, f"{url}/readyz")
    clock = StepClock()
    result = LoopResult(None, url, steps=clock.steps)
    weeks_of_traffic(settings, result, report, first_step=1, clock=clock)
    for week in result.weeks:
        for judged in week.monitor.windows if week.monitor else []:
            report(f"week {week.week}: {judged.report.window}: {judged.decision}")
    report(f"registry aliases now: {result.aliases}")
    return result


def weeks_of_traffic(
    settings: Settings, result: LoopResult, report: Any, first_step: int, clock: StepClock | None = None
) -> None:
    """Normal weeks, then drifted ones, the monitor after each; a retrained challenger goes to its canary."""
    clock = clock or StepClock()
    simulation = settings.monitoring.simulation
    plan = ["none"] * simulation.normal_weeks + [simulation.scenario] * simulation.drift_weeks
    weeks = ingest.traffic_weeks(settings, len(plan) + 1)  # and one more for a canary
    for index, scenario in enumerate(plan):
        number, week = first_step + index, weeks[index]
        report(f"== {number}. week {week.number} ({week.start}) of traffic ({scenario}), then the monitor")
        with clock.step(f"week {week.number} traffic"):
            traffic = serve_week(settings, result.url, week, scenario)
        report(f"   {traffic.sent} requests in {traffic.seconds:.1f} s, statuses {dict(traffic.statuses)}")
        # The monitor judges this week's windows; a retrained challenger goes through its
        # canary inside the same flow run, under the next week's traffic.
        with clock.step(f"week {week.number} monitor"):  # and the canary, when one runs
            outcome = monitor(settings, services=[result.url], traffic={"week": str(week.number), "scenario": scenario})
        result.weeks.append(WeekOfTraffic(week.number, scenario, traffic, outcome))
        for judged in outcome.windows:
            report(f"   {judged.report.window}: {judged.decision}")
        if outcome.registration is not None:
            registration = outcome.registration
            report(f"   retrained: gate {registration.verdict}; {registration.alias or 'not registered'}")
            result.canary, result.canary_traffic = outcome.canary, outcome.canary_traffic
            break
    result.aliases = registry.aliases(settings)
