"""The runtime in process, over a real workspace: what a canary state change does to the models it serves."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from core import registry
from serving.canary import CanaryState, write_state
from serving.runtime import ServingRuntime
from serving.schema import request_bodies
from tests.serving.conftest import prepare_workspace, register_model

pytestmark = pytest.mark.e2e


def test_a_state_change_keeps_the_warm_champion_and_warms_the_challenger_before_it_serves(tmp_path: Path) -> None:
    settings, frame = prepare_workspace(tmp_path)
    register_model(settings, frame, registry.CHAMPION)
    runtime = ServingRuntime(settings, watch=False)
    try:
        model = runtime.models.request
        requests = [model.model_validate(body) for body in request_bodies(frame, settings.schema_, 40)]
        for request in requests:
            answer = runtime.answer(request)
            assert set(answer.stages) == {"queue", "features", "route", "model", "decision", "log"}
            assert answer.elapsed_ms / 1000 >= sum(answer.stages.values()) - answer.stages["log"]
        champion = runtime.champion
        assert champion is not None and champion.direct is not None

        version = register_model(settings, frame, registry.CHALLENGER)
        write_state(settings, CanaryState(challenger_version=version, weight=50))
        runtime.refresh()

        # The same champion version is the same object, with everything it learned from traffic.
        assert runtime.champion is champion
        challenger = runtime.challenger
        assert challenger is not None and challenger.version == version and challenger.direct is not None
        # Warmed on the recent requests before the swap: the memo of its category combinations is filled.
        assert all(part.memo for part in challenger.direct.parts if part.categorical)
        # The newly loaded model is frozen with the rest: no full collection walks it again.
        assert gc.is_tracked(challenger.model) and all(o is not challenger.model for o in gc.get_objects())
        answered = runtime.answer(requests[0])
        assert answered.decision.model_version in {champion.version, version}
    finally:
        runtime.close()
