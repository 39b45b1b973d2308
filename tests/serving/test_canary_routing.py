"""Routing by weight, sticky per applicant; the canary file validated on load."""

from pathlib import Path

import pytest

from core.settings import load_settings
from serving.canary import CanaryState, bucket, load_canary_config, read_state, route, write_state
from tests.conftest import write_params

pytestmark = pytest.mark.unit

CUSTOMERS = [f"C{i:06d}" for i in range(20_000)]


@pytest.mark.parametrize("weight", [5, 25, 50])
def test_the_share_routed_to_the_challenger_follows_the_weight(weight: int) -> None:
    state = CanaryState(challenger_version="7", weight=weight)
    share = sum(route(c, state) == "challenger" for c in CUSTOMERS) / len(CUSTOMERS)
    # Binomial standard error at n=20000 is at most 0.35 points; allow about four of them.
    assert abs(share * 100 - weight) < 1.5


def test_routing_is_sticky_and_only_grows_with_the_weight() -> None:
    small, large = CanaryState("7", 5), CanaryState("7", 50)
    first = {c for c in CUSTOMERS if route(c, small) == "challenger"}
    assert first == {c for c in CUSTOMERS if route(c, small) == "challenger"}  # same answer every time
    assert first <= {c for c in CUSTOMERS if route(c, large) == "challenger"}  # nobody is sent back


def test_each_challenger_draws_its_own_applicants() -> None:
    assert bucket("C000001", "7") != bucket("C000001", "8")


def test_no_challenger_or_shadow_means_the_champion_answers() -> None:
    assert {route(c, CanaryState()) for c in CUSTOMERS[:100]} == {"champion"}
    assert {route(c, CanaryState("7", 50, shadow=True)) for c in CUSTOMERS[:100]} == {"champion"}
    assert {route(c, CanaryState("7", 100)) for c in CUSTOMERS[:100]} == {"challenger"}


@pytest.mark.parametrize("shared", [False, True], ids=["state folder", "loop_store"])
def test_state_round_trips_whole_and_every_replica_reads_the_same(tmp_path: Path, shared: bool) -> None:
    params = write_params(tmp_path)
    overrides = {"loop_store": (tmp_path / "shared").as_uri()} if shared else {}
    controller, replica = load_settings(params, overrides), load_settings(params, overrides)  # two processes' view
    assert read_state(replica) == CanaryState()
    write_state(controller, CanaryState("3", 25, note="step 2 of 4"))
    assert read_state(replica) == CanaryState("3", 25, note="step 2 of 4")
    write_state(controller, CanaryState(note="v3 rolled back"))
    assert read_state(replica) == CanaryState(note="v3 rolled back")  # nothing cached between reads
    where = (tmp_path / "shared" / controller.project if shared else tmp_path / ".state") / "serving"
    assert [p.name for p in where.iterdir()] == ["canary_state.json"]  # no temp file left
    assert shared or not (tmp_path / "shared").exists()


def test_the_shipped_canary_file_is_valid_and_bad_steps_are_named(tmp_path: Path) -> None:
    config = load_canary_config()
    assert config.steps[-1] == 100 and config.metrics.min_success_rate == 0.99
    bad = tmp_path / "canary.yaml"
    bad.write_text("steps: [50, 25]\n")
    with pytest.raises(ValueError, match="steps"):
        load_canary_config(bad)
