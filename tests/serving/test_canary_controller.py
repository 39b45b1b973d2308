"""The canary controller against a real server under traffic: promotion and rollback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pandas as pd
import pytest

from core import registry
from features.engineering import FeatureColumns
from governance import audit
from serving import controller
from serving.canary import Analysis, CanaryConfig, CanaryState, read_state, write_state
from serving.controller import run_canary
from tests.serving.conftest import Server, champion_server, register_model
from tests.serving.test_service_http import applicants

pytestmark = pytest.mark.e2e

FAST = CanaryConfig(steps=(20, 50, 100), analysis=Analysis(interval_seconds=1.0, min_requests=5, threshold=2))


class Traffic:
    """Clients sending applications until stopped (bounded in count and time), recording every status."""

    def __init__(
        self, server: Server, requests: list[dict[str, object]], limit: int = 20_000, seconds: float = 120
    ) -> None:
        self.server, self.requests, self.limit, self.seconds = server, requests, limit, seconds
        self.statuses: list[int] = []
        self.variants: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, daemon=True)

    def _send(self) -> None:
        deadline = time.monotonic() + self.seconds
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            while not self._stop.is_set() and len(self.statuses) < self.limit and time.monotonic() < deadline:
                reply = client.post("/predict", json=self.requests[len(self.statuses) % len(self.requests)])
                self.statuses.append(reply.status_code)
                if reply.status_code == 200:
                    self.variants.append(reply.json()["variant"])

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


@pytest.fixture(scope="module")
def canary_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, pd.DataFrame]]:
    """Its own server: these tests move the champion alias."""
    with champion_server(tmp_path_factory.mktemp("canary")) as running:
        yield running


def test_a_sound_challenger_is_promoted_through_every_step(canary_served: tuple[Server, pd.DataFrame]) -> None:
    server, frame = canary_served
    settings = server.settings
    champion = registry.aliases(settings)["champion"]
    challenger = register_model(settings, frame, registry.CHALLENGER, governed=True)
    with Traffic(server, applicants(frame, 200)) as traffic:
        run = run_canary(settings, server.url, FAST, report=lambda line: None)
        time.sleep(0.5)
    assert run is not None and run.outcome == "promoted", run.history if run else None
    assert [line for line in run.history if "weight" in line] == [f"v{challenger}: weight {w}%" for w in FAST.steps]
    assert registry.aliases(settings) == {"champion": challenger, "previous": champion}
    assert read_state(settings).challenger_version is None
    assert set(traffic.statuses) == {200}  # no request failed while weights changed
    assert "challenger" in traffic.variants


def test_a_failing_challenger_is_rolled_back_while_the_champion_keeps_answering(
    canary_served: tuple[Server, pd.DataFrame],
) -> None:
    server, frame = canary_served
    settings = server.settings
    champion = registry.aliases(settings)["champion"]
    columns = FeatureColumns(("loan_amount", "column_that_never_arrives"), ())
    broken = register_model(settings, frame.assign(column_that_never_arrives=1.0), registry.CHALLENGER, columns)
    with Traffic(server, applicants(frame, 200)) as traffic:
        run = run_canary(settings, server.url, FAST, report=lambda line: None)
    assert run is not None and run.outcome == "rolled_back", run.history if run else None
    assert "success rate" in run.history[-2]
    assert registry.aliases(settings)["champion"] == champion and "challenger" not in registry.aliases(settings)
    tags = registry.client(settings).get_model_version(settings.mlflow.registered_model, broken).tags
    assert tags["canary"] == "rejected" and "success rate" in tags["canary_reason"]
    assert set(traffic.statuses) == {200} and set(traffic.variants) == {"champion"}


def test_in_manual_mode_the_canary_waits_for_an_approval_with_the_champion_serving(
    canary_served: tuple[Server, pd.DataFrame],
) -> None:
    server, frame = canary_served
    governance = server.settings.governance.model_copy(update={"approval_mode": "manual"})
    settings = server.settings.model_copy(update={"governance": governance})
    champion = registry.aliases(settings)["champion"]
    challenger = register_model(settings, frame, registry.CHALLENGER, governed=True)
    with Traffic(server, applicants(frame, 200)):
        run = run_canary(settings, server.url, FAST, report=lambda line: None)
    assert run is not None and run.outcome == "awaiting_approval", run.history if run else None
    assert registry.aliases(settings)["champion"] == champion
    assert registry.aliases(settings)["challenger"] == challenger
    assert read_state(settings).challenger_version is None  # the champion answers everyone
    tags = registry.client(settings).get_model_version(settings.mlflow.registered_model, challenger).tags
    assert tags["policy_champion"] == "awaiting_approval" and tags["policy_champion_failed"] == "approval"

    again = run_canary(settings, server.url, FAST, report=lambda line: None)  # no approval yet: still waiting
    assert again is not None and again.outcome == "awaiting_approval" and len(again.history) == 2

    said = controller.approve(settings, challenger, approver="risk-officer", reason="model card reviewed")
    assert "promoted to champion" in said
    assert registry.aliases(settings) == {"champion": challenger, "previous": champion}
    trail = [(e.event, e.actor) for e in audit.history(settings) if e.version == challenger]
    assert trail[-3:] == [
        ("approval", "risk-officer"),
        ("policy_verdict", "risk-officer"),
        ("promotion", "risk-officer"),
    ]
    assert audit.verify(settings).ok


def test_two_replicas_route_every_customer_alike_and_are_judged_as_one(
    canary_served: tuple[Server, pd.DataFrame],
) -> None:
    server, frame = canary_served
    settings = server.settings
    entity = settings.schema_.entity
    second = Server(settings, name="bentoml-replica")  # the same workspace: the same state document
    try:
        second.wait_until("/readyz", 200)
        replicas = [server.url, second.url]
        good = register_model(settings, frame, registry.CHALLENGER, governed=True)
        state = CanaryState(good, 50, note="half")
        write_state(settings, state)
        controller.wait_until_routing(replicas, state)
        bodies = applicants(frame, 120)
        before = controller.scrape(replicas)
        with httpx.Client(timeout=30) as client:
            routed = {
                url: {body[entity]: client.post(f"{url}/predict", json=body).json()["variant"] for body in bodies}
                for url in replicas
            }
        assert routed[server.url] == routed[second.url]  # customer by customer
        # Each replica counts its own requests (its own BentoML home): added, every request once.
        with httpx.Client(base_url=server.url, timeout=30) as client:
            extra = [client.post("/predict", json=body).status_code for body in bodies[:30]]  # the first only
        assert extra == [200] * 30
        counted = controller.scrape(replicas)
        answered_before = sum(c.answered for c in before.values())
        assert sum(c.answered for c in counted.values()) - answered_before == 2 * len(bodies) + 30
        assert 0 < list(routed[server.url].values()).count("challenger") < len(bodies)
        controller.rollback(settings, good, "replaced by the broken one below")

        # All of a broken challenger's traffic reaches the second replica: judged on the first alone,
        # it would have no requests (inconclusive until the deadline); judged as one, it fails at once.
        columns = FeatureColumns(("loan_amount", "column_that_never_arrives"), ())
        register_model(settings, frame.assign(column_that_never_arrives=1.0), registry.CHALLENGER, columns)
        with Traffic(second, bodies) as traffic:
            short = FAST.model_copy(
                update={"analysis": FAST.analysis.model_copy(update={"progress_deadline_seconds": 20})}
            )
            run = run_canary(settings, replicas, short, report=lambda line: None)
        assert run is not None and run.outcome == "rolled_back", run.history if run else None
        assert "success rate" in run.history[-2], run.history
        assert set(traffic.statuses) == {200}
    finally:
        second.stop()
