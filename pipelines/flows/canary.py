"""The canary from the command line: ``make canary`` and ``make canary-demo``.

``canary``: take the registry's challenger through ``serving/canary.yaml``'s steps
against a running service (``make serve``), with the model-quality probe of
``monitoring/canary_quality.py``; promote or roll back.

``demo`` (``make canary-demo``): one challenger promoted and one rolled back, live, step by step.

1. A challenger is trained by the real training flow and judged by the real gate. For
   the demo the gate's improvement margin is relaxed (``gate.min_improvement: 0``),
   so a model as good as the champion may pass: the data has not changed since the
   champion was trained, and a real challenger would have to be better.
2. The canary controller takes it through ``serving/canary.yaml``'s steps while a
   traffic thread sends requests; it is promoted.
3. The bad-model scenario: a challenger that needs a column no request carries is
   registered by hand (it skips the gate on purpose: this is the failure the gate
   cannot see offline). It raises on every request, the champion answers instead,
   and the controller rolls it back.

It runs against the service at ``--url`` if one answers there, or starts one and stops
it at the end. Traffic is bounded in count and time and goes to loopback only.
"""

from __future__ import annotations

import subprocess
import threading
import time
from typing import Any

import httpx

from core import processes, registry
from core.settings import Settings
from features import ingest
from features.engineering import FeatureColumns
from governance import audit, review
from monitoring.canary_quality import quality_probe
from pipelines.flows.training import training_pipeline
from pipelines.steps import tracking, training
from serving import launch
from serving.canary import compressed, load_canary_config
from serving.controller import CanaryRun, Services, run_canary
from serving.schema import request_bodies


def canary(settings: Settings, services: Services) -> CanaryRun | None:
    """``make canary``: the registry's challenger through every step against the service (every replica of it)."""
    return run_canary(settings, services, quality=quality_probe(settings))


def recent_requests(settings: Settings, limit: int = 400) -> list[dict[str, Any]]:
    """Recent events from the raw data, as requests (one per entity)."""
    return request_bodies(ingest.load_raw(settings).tail(5000), settings.schema_, limit, one_per_entity=True)


class Traffic(threading.Thread):
    def __init__(self, url: str, requests: list[dict[str, Any]], limit: int = 50_000, seconds: float = 600) -> None:
        super().__init__(daemon=True)
        self.url, self.requests, self.limit, self.seconds = url, requests, limit, seconds
        self.stop = threading.Event()
        self.statuses: dict[int, int] = {}

    def run(self) -> None:
        deadline, sent = time.monotonic() + self.seconds, 0
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stop.is_set() and sent < self.limit and time.monotonic() < deadline:
                status = client.post("/predict", json=self.requests[sent % len(self.requests)]).status_code
                self.statuses[status] = self.statuses.get(status, 0) + 1
                sent += 1


def ensure_server(settings: Settings, url: str) -> subprocess.Popen[bytes] | None:
    """The running service at ``url``, or a new one started for the demo (returned to be stopped)."""
    try:
        if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
            return None
    except httpx.TransportError:
        pass
    log = settings.state / "serving" / "demo-server.log"
    server, _ = launch.start_service(settings, log, port=int(url.rsplit(":", 1)[-1]))
    print(f"started a service on {url} for the demo")
    return server


def broken_challenger(settings: Settings) -> str:
    """The bad-model scenario: trained on a column that never arrives at serving time."""
    frame = ingest.load_raw(settings).assign(column_that_never_arrives=1.0)
    first = settings.schema_.numeric_features[:1]  # one real input beside the missing one, whatever the contract
    columns = FeatureColumns((*first, "column_that_never_arrives"), ())
    split = training.time_split(frame, settings.schema_, settings.training.holdout_weeks)
    model = training.fit_and_score(split, settings.schema_, columns, "logistic_regression", {}, settings.training)
    purpose = "canary demo: a deliberately broken model, registered without the gate"
    logged = tracking.log_training_run(
        settings,
        model,
        data_version="demo-broken",
        training_frame=frame,
        extra_tags={registry.DEMO_TAG: purpose},
        run_name="demo: broken challenger (canary demo)",
    )
    tags = {registry.DEMO_TAG: purpose}
    version = registry.register(settings, logged.model_uri, logged.run_id, tags, registry.CHALLENGER)
    # Skipping the gate and the policy is the point; the trail and the card still say so.
    audit.record(
        settings,
        "registration",
        actor="canary-demo",
        version=version,
        reason="deliberately broken model, registered as challenger by hand (no gate, no policy)",
    )
    review.assess_version(settings, version, model.model, columns, split.holdout)
    review.publish_card(settings, version)
    return version


def demo(settings: Settings, url: str) -> int:
    """One challenger promoted and one broken challenger rolled back, under traffic; 0 if both happen."""
    if registry.alias_version(settings, registry.CHAMPION) is None:
        print("no champion yet: run `make pipeline` first")
        return 2
    server = ensure_server(settings, url)
    config = compressed(load_canary_config())
    try:
        print("\n== 1. a challenger from the training flow (gate margin relaxed for the demo)")
        result = training_pipeline(settings.overridden({"gate.min_improvement": 0.0}))
        print(f"gate: {result.registration.verdict}; registered as {result.registration.alias}")
        traffic = Traffic(url, recent_requests(settings))
        traffic.start()
        good = None
        if result.registration.alias != registry.CHALLENGER:
            # Data that arrived since the champion was trained (a served week lands as a batch)
            # can leave the new model a little worse: the gate is right to refuse it.
            print("no challenger was registered (data changed since the champion was trained?): no promotion to show")
        else:
            print(f"aliases: {registry.aliases(settings)}")
            print("\n== 2. canary under traffic")
            good = run_canary(settings, url, config)
            print(f"aliases: {registry.aliases(settings)}")

        print("\n== 3. the bad-model scenario: a challenger that fails on every request")
        version = broken_challenger(settings)
        print(f"registered v{version} as challenger (by hand, skipping the gate)")
        bad = run_canary(settings, url, config)
        traffic.stop.set()
        traffic.join(timeout=30)
        print(f"aliases: {registry.aliases(settings)}")
        print(f"\ntraffic during the demo, by HTTP status: {traffic.statuses}")
        promoted = good is not None and good.outcome == "promoted"
        rolled_back = bad is not None and bad.outcome == "rolled_back"
        print(
            f"demo: {'one promotion' if promoted else 'no promotion'}, "
            f"{'one rollback' if rolled_back else 'no rollback (unexpected)'}"
        )
        return 0 if promoted and rolled_back and set(traffic.statuses) == {200} else 1
    finally:
        if server is not None:
            processes.stop(server)
