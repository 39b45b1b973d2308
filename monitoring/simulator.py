"""A traffic simulator: a week of events sent to the service over HTTP, and their ground
truth delivered later, as the outcomes become known.

The week is the synthetic lender's next week (``data.source: synthetic``) or one of the
held-back weeks of your own file (``data.source: file``), under the simulation's
scenario (``features/ingest.py`` ``week_events``). Requests are built from the contract
(``serving/schema.py``), each with its record id (or, without one, a row number) as
request id, so the labels delivered afterwards (``data/labels/labels_<name>.parquet``)
join the prediction log by request id. Traffic is bounded in count and in time, paced
by an optional rate, and goes wherever ``url`` points (loopback in every shipped use).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pandas as pd

from core.sections import SimulationSettings
from core.settings import Settings
from features import ingest
from monitoring.windows import REQUEST_ID, write_labels
from serving.schema import request_bodies

RECORD = "_record"  # a week's request ids, when the contract names no record id column


def week_events(settings: Settings, week: ingest.Week, scenario: str) -> pd.DataFrame:
    """The events of ``week`` under ``scenario``, each with the request id it will be sent with."""
    events = ingest.week_events(settings, week, scenario)
    record_id = settings.schema_.record_id
    ids = events[record_id].astype(str) if record_id else [f"{week.name}-{i}" for i in range(len(events))]
    return events.assign(**{RECORD: ids})


def requests_for(events: pd.DataFrame, settings: Settings, limit: int | None) -> list[dict[str, Any]]:
    """Request bodies from the contract, one per event, with its request id."""
    frame = events.assign(request_id=events[RECORD])
    return request_bodies(frame, settings.schema_, limit or len(frame))


@dataclass
class TrafficResult:
    sent: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    answered: list[str] = field(default_factory=list)  # request ids answered with 200

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)


def send(
    url: str,
    requests: list[dict[str, Any]],
    simulation: SimulationSettings,
    stop: threading.Event | None = None,
) -> TrafficResult:
    """POST each request to ``{url}/predict`` with bounded concurrency, rate and duration."""
    result, lock = TrafficResult(), threading.Lock()
    started = time.monotonic()
    deadline = started + simulation.max_seconds_per_week
    interval = 1.0 / simulation.rate_per_second if simulation.rate_per_second else 0.0
    limits = httpx.Limits(max_connections=simulation.concurrency, max_keepalive_connections=simulation.concurrency)

    with httpx.Client(base_url=url, timeout=30, limits=limits) as client:

        def post(index: int) -> None:
            if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
                return
            if interval:  # pace: request i leaves no earlier than i intervals after the start
                time.sleep(max(0.0, started + index * interval - time.monotonic()))
            body = requests[index]
            try:
                status = client.post("/predict", json=body).status_code
            except httpx.TransportError:
                status = 0  # no answer at all: counted as an error
            with lock:
                result.sent += 1
                result.statuses[status] += 1
                if status == 200:
                    result.answered.append(str(body["request_id"]))

        with ThreadPoolExecutor(simulation.concurrency) as pool:
            list(pool.map(post, range(len(requests))))
    result.seconds = time.monotonic() - started
    return result


def deliver_labels(settings: Settings, events: pd.DataFrame, answered: list[str], name: str) -> pd.DataFrame:
    """The ground truth of the answered events, written where the monitor joins it.

    Returns the answered events with their labels: the new, labelled data to retrain on.
    """
    label = settings.schema_.label
    served = events[events[RECORD].isin(set(answered))].reset_index(drop=True)
    labels = pd.DataFrame({REQUEST_ID: served[RECORD], label: served[label].astype("int64")})
    write_labels(settings, name, labels)
    return served.drop(columns=RECORD)
