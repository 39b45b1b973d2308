"""A traffic simulator: a week of events sent to the service over HTTP, and their ground
truth delivered later, as the outcomes become known.

The week is the synthetic lender's next week (``data.source: synthetic``) or one of the
held-back weeks of your own file (``data.source: file``), under the simulation's
scenario (``features/ingest.py`` ``week_events``). Requests are built from the contract
(``serving/schema.py``), each with its record id (or, without one, a row number) as
request id, so the labels delivered afterwards (``data/labels/labels_<name>.parquet``)
join the prediction log by request id. Traffic is bounded in count and in time, paced
by an optional rate, and goes wherever ``urls`` point (loopback in every shipped use):
one service, or every replica of it, as a load balancer would spread it.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import Counter
from collections.abc import Sequence
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


def replica_for(entity: Any, replicas: int) -> int:
    """Which replica a load balancer with entity affinity (a consistent hash on the entity) sends it to.

    Affinity keeps one entity's requests on one replica, so the per-entity order of fresh
    history rows (``features/freshness.py``) holds across replicas too; the canary routing
    does not need it (every replica routes alike).
    """
    return zlib.crc32(str(entity).encode("utf-8")) % replicas


def send(
    urls: str | Sequence[str],
    requests: list[dict[str, Any]],
    simulation: SimulationSettings,
    stop: threading.Event | None = None,
    affinity: str | None = None,
) -> TrafficResult:
    """POST each request to ``{url}/predict`` with bounded concurrency, rate and duration.

    With several ``urls`` (every replica), each request goes to one of them: by the
    hash of its ``affinity`` field (the entity) if given, else in turn.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    result, lock = TrafficResult(), threading.Lock()
    started = time.monotonic()
    deadline = started + simulation.max_seconds_per_week
    interval = 1.0 / simulation.rate_per_second if simulation.rate_per_second else 0.0
    limits = httpx.Limits(max_connections=simulation.concurrency, max_keepalive_connections=simulation.concurrency)
    clients = [httpx.Client(base_url=url, timeout=30, limits=limits) for url in urls]

    def post(index: int) -> None:
        if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
            return
        if interval:  # pace: request i leaves no earlier than i intervals after the start
            time.sleep(max(0.0, started + index * interval - time.monotonic()))
        body = requests[index]
        replica = replica_for(body[affinity], len(clients)) if affinity else index % len(clients)
        try:
            status = clients[replica].post("/predict", json=body).status_code
        except httpx.TransportError:
            status = 0  # no answer at all: counted as an error
        with lock:
            result.sent += 1
            result.statuses[status] += 1
            if status == 200:
                result.answered.append(str(body["request_id"]))

    try:
        with ThreadPoolExecutor(simulation.concurrency) as pool:
            list(pool.map(post, range(len(requests))))
    finally:
        for client in clients:
            client.close()
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
