"""The whole Level-3 loop on one machine: ``make pipeline``.

    train + register ─► serve ─► normal traffic ─► monitor (no alarm)
                                  drifted traffic ─► monitor ─► drift ─► retrain (subflow) ─► gate
                                                                   ─► canary under traffic ─► promoted or rolled back

Simulated weeks follow the history: each week's applications are sent to the service
over HTTP, then their labels are delivered (as if weeks later) and the answered
applications land as the next batch of training data, exactly the data a lender
would retrain on. The service runs on a free loopback port and is stopped at the end,
whatever happens.
"""

from __future__ import annotations

from typing import Any

from core import processes, registry
from core.settings import Settings
from features import ingest
from pipelines.flows.monitor import monitor
from pipelines.flows.training import training_pipeline
from pipelines.results import LoopResult, WeekOfTraffic
from pipelines.steps.traffic import serve_week
from serving import launch


class NoChampion(RuntimeError):
    """The loop cannot serve: no model has passed the gate yet."""


def run_loop(settings: Settings, report: Any = print) -> LoopResult:
    """Train, then serve on a free loopback port through the simulated weeks; stop the server."""
    report("== 1. train, gate and register")
    training = training_pipeline(settings)
    if registry.alias_version(settings, registry.CHAMPION) is None:
        raise NoChampion(
            f"the gate rejected the first model ({training.registration.verdict}), so there is nothing to serve; "
            "the rules and the MLflow run above say why"
        )
    log = settings.state / "serving" / "pipeline-server.log"
    server, url = launch.start_service(settings, log)
    try:
        report(f"== 2. serving the champion on {url} (log: {log})")
        result = LoopResult(training, url)
        weeks_of_traffic(settings, result, report, first_step=3)
        return result
    finally:
        processes.stop(server)


def drift_demo(settings: Settings, url: str, report: Any = print) -> LoopResult:
    """The monitoring half of the loop against a service that is already running at ``url``."""
    if registry.alias_version(settings, registry.CHAMPION) is None:
        raise NoChampion("no champion yet: run `make pipeline` (or `make train`) first")
    processes.wait_until(None, f"{url}/readyz")
    result = LoopResult(None, url)
    weeks_of_traffic(settings, result, report, first_step=1)
    for week in result.weeks:
        for judged in week.monitor.windows if week.monitor else []:
            report(f"week {week.week}: {judged.report.window}: {judged.decision}")
    report(f"registry aliases now: {result.aliases}")
    return result


def weeks_of_traffic(settings: Settings, result: LoopResult, report: Any, first_step: int) -> None:
    """Normal weeks, then drifted ones, the monitor after each; a retrained challenger goes to its canary."""
    simulation = settings.monitoring.simulation
    week = ingest.next_week(settings)
    plan = ["none"] * simulation.normal_weeks + [simulation.scenario] * simulation.drift_weeks
    for number, scenario in enumerate(plan, start=first_step):
        report(f"== {number}. week {week} of traffic ({scenario}), then the monitor")
        traffic = serve_week(settings, result.url, week, scenario)
        report(f"   {traffic.sent} requests in {traffic.seconds:.1f} s, statuses {dict(traffic.statuses)}")
        # The monitor judges this week's windows; a retrained challenger goes through its
        # canary inside the same flow run, under the next week's traffic.
        outcome = monitor(settings, service_url=result.url, traffic={"week": str(week), "scenario": scenario})
        result.weeks.append(WeekOfTraffic(week, scenario, traffic, outcome))
        week += 1
        for judged in outcome.windows:
            report(f"   {judged.report.window}: {judged.decision}")
        if outcome.retrained is not None:
            registration = outcome.retrained.registration
            report(f"   retrained: gate {registration.verdict}; {registration.alias or 'not registered'}")
            result.canary, result.canary_traffic = outcome.canary, outcome.canary_traffic
            break
    result.aliases = registry.aliases(settings)
