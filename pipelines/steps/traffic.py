"""Simulated traffic for the loop: a week of events over HTTP, and the canary under live traffic.

Plain functions over ``monitoring/simulator.py`` and the canary controller; the loop
(``pipelines/flows/loop.py``) sends the weeks, the ``monitor`` flow runs a retrained
challenger's canary with ``canary_under_traffic`` when it knows the service and the traffic.
"""

from __future__ import annotations

import threading
from typing import Any

from core.settings import Settings
from features import ingest
from monitoring import simulator
from monitoring.canary_quality import quality_probe
from serving.canary import compressed, load_canary_config
from serving.controller import CanaryRun, Services, run_canary
from serving.shared_log import wait_until_logged


def serve_week(
    settings: Settings, services: Services, week: ingest.Week, scenario: str, stop: threading.Event | None = None
) -> Any:
    """Send one week of events (to every replica, by entity); deliver its labels; land the answered ones as new data."""
    events = simulator.week_events(settings, week, scenario)
    requests = simulator.requests_for(events, settings, settings.monitoring.simulation.requests_per_week)
    traffic = simulator.send(services, requests, settings.monitoring.simulation, stop, settings.schema_.entity)
    wait_until_logged(settings, traffic.answered)  # the shared log writes in segments: the monitor reads next
    name = f"week{week.number:03d}-{scenario}"
    served = simulator.deliver_labels(settings, events, traffic.answered, name)
    if len(served):
        ingest.land_frame(settings, served, week)
    return traffic


def canary_under_traffic(
    settings: Settings, services: Services, week: ingest.Week, scenario: str, report: Any
) -> tuple[CanaryRun | None, simulator.TrafficResult]:
    """The canary steps while traffic flows: a new week, then replays of it until the canary ends.

    Replayed requests get new request ids and no labels: only the week's first pass
    becomes training data.
    """
    stop, box = threading.Event(), {}

    def traffic() -> None:
        box["week"] = serve_week(settings, services, week, scenario, stop)
        events = simulator.week_events(settings, week, scenario)
        requests = simulator.requests_for(events, settings, settings.monitoring.simulation.requests_per_week)
        replay = 0
        while not stop.is_set():
            replay += 1
            again = [{**body, "request_id": f"{body['request_id']}-replay{replay}"} for body in requests]
            simulator.send(services, again, settings.monitoring.simulation, stop, settings.schema_.entity)

    sender = threading.Thread(target=traffic, daemon=True)
    sender.start()
    try:
        run = run_canary(
            settings,
            services,
            compressed(load_canary_config()),
            report=lambda line: report(f"   {line}"),
            quality=quality_probe(settings),
        )
    finally:
        stop.set()
        sender.join(timeout=60)
    return run, box.get("week", simulator.TrafficResult())
