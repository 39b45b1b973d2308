"""Adaptive micro-batching: a batch answers every request exactly as it would be answered alone."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core import registry
from core.settings import Settings
from serving.batching import MicroBatcher, Submitted
from serving.canary import CanaryState, route, write_state
from serving.models import LoadedModel
from serving.runtime import Answer, ServingRuntime
from serving.schema import request_bodies
from tests.serving.conftest import prepare_workspace, register_model

pytestmark = pytest.mark.model


def test_items_waiting_together_are_handled_in_one_call_each_with_its_own_outcome() -> None:
    calls: list[list[int]] = []

    def handle(batch: Sequence[Submitted[int]]) -> list[int | BaseException]:
        calls.append([s.item for s in batch])
        time.sleep(0.02)  # while this batch is handled, the next requests queue up
        return [ValueError(f"item {s.item}") if s.item == 7 else s.item * 10 for s in batch]

    batcher: MicroBatcher[int, int] = MicroBatcher(handle, max_batch_size=8)
    results: dict[int, object] = {}

    def client(item: int) -> None:
        try:
            results[item] = batcher(item)
        except ValueError as error:
            results[item] = error

    threads = [threading.Thread(target=client, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batcher.close()
    assert sorted(i for call in calls for i in call) == list(range(24))  # each item handled once
    assert max(len(call) for call in calls) > 1 and all(len(call) <= 8 for call in calls)
    assert {i: r for i, r in results.items() if i != 7} == {i: i * 10 for i in range(24) if i != 7}
    assert isinstance(results[7], ValueError) and str(results[7]) == "item 7"  # its own error, nobody else's


def test_a_handler_that_fails_as_a_whole_fails_each_item_of_its_batch_and_the_next_batch_is_answered() -> None:
    def handle(batch: Sequence[Submitted[int]]) -> list[int | BaseException]:
        if any(s.item < 0 for s in batch):
            raise RuntimeError("store unavailable")
        return [s.item for s in batch]

    batcher: MicroBatcher[int, int] = MicroBatcher(handle, max_batch_size=4)
    with pytest.raises(RuntimeError, match="store unavailable"):
        batcher(-1)
    assert batcher(5) == 5
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit(1)


@dataclasses.dataclass(frozen=True)
class FailsOn(LoadedModel):
    """A registered model that raises on any call that includes one of ``entities`` (a row it cannot score)."""

    entity_column: str = ""
    entities: frozenset[str] = frozenset()

    def risks(self, frame: pd.DataFrame) -> np.ndarray:
        if frame[self.entity_column].isin(self.entities).any():
            raise ValueError("cannot score this row")
        return super().risks(frame)


def failing_on(model: LoadedModel, column: str, entities: set[str]) -> FailsOn:
    held = {f.name: getattr(model, f.name) for f in dataclasses.fields(LoadedModel)}
    return FailsOn(**held, entity_column=column, entities=frozenset(entities))


def canary_runtime(tmp_path: Path, batch_size: int) -> tuple[Settings, ServingRuntime, list[Any]]:
    settings, frame = prepare_workspace(tmp_path)
    register_model(settings, frame, registry.CHAMPION)
    # fresh_online off: an answer would write its entity's history row, and the next read of it differ.
    settings = settings.overridden({"serving.max_batch_size": batch_size, "features.fresh_online": False})
    challenger = register_model(settings, frame.iloc[::2], registry.CHALLENGER)  # another model, other scores
    write_state(settings, CanaryState(challenger_version=challenger, weight=50, shadow=False))
    runtime = ServingRuntime(settings, watch=False)
    requests = [runtime.models.request.model_validate(b) for b in request_bodies(frame, settings.schema_, 48)]
    return settings, runtime, requests


def answer_together(runtime: ServingRuntime, requests: Sequence[Any]) -> list[Answer | BaseException]:
    now = time.perf_counter()
    return runtime._answer_batch([Submitted((r, pd.Timestamp.now(tz="UTC").to_pydatetime()), now) for r in requests])


def test_a_batch_answers_each_request_as_it_would_be_answered_alone(tmp_path: Path) -> None:
    settings, runtime, requests = canary_runtime(tmp_path, batch_size=1)
    try:
        assert runtime.batcher is None  # max_batch_size 1: batching is off
        # Together first, then one at a time, over the same online rows (fresh_online is off here).
        together = answer_together(runtime, requests)
        alone = [runtime.answer(r).decision for r in requests]
        assert all(isinstance(a, Answer) and a.batch_size == len(requests) for a in together)
        decisions = [a.decision for a in together if isinstance(a, Answer)]
        for one, batched in zip(alone, decisions, strict=True):
            assert (batched.variant, batched.model_version, batched.decision) == (
                one.variant,
                one.model_version,
                one.decision,
            )
            assert batched.probability == pytest.approx(one.probability, abs=1e-9)  # one-row and batch scorers
        entity = settings.schema_.entity
        assert [d.variant for d in decisions] == [route(getattr(r, entity), runtime.state) for r in requests]
        assert {d.variant for d in decisions} == {"champion", "challenger"}
    finally:
        runtime.close()


def test_in_a_batch_a_row_the_challenger_cannot_score_falls_back_alone_and_one_the_champion_cannot_fails_alone(
    tmp_path: Path,
) -> None:
    settings, runtime, requests = canary_runtime(tmp_path, batch_size=1)
    entity = settings.schema_.entity
    try:
        assert runtime.challenger is not None and runtime.champion is not None
        ids = [str(getattr(r, entity)) for r in requests]
        routed = [route(i, runtime.state) for i in ids]
        to_challenger = [i for i, v in zip(ids, routed, strict=True) if v == "challenger"]
        to_champion = [i for i, v in zip(ids, routed, strict=True) if v == "champion"]
        runtime.challenger = failing_on(runtime.challenger, entity, {to_challenger[0]})
        runtime.champion = failing_on(runtime.champion, entity, {to_champion[0]})
        outcomes = answer_together(runtime, requests)
        for identity, outcome in zip(ids, outcomes, strict=True):
            if identity == to_champion[0]:
                assert isinstance(outcome, ValueError)  # the champion's own failure: this request's error
                continue
            assert isinstance(outcome, Answer)
            if identity == to_challenger[0]:
                assert outcome.decision.variant == "champion" and "cannot score" in str(outcome.challenger_error)
            else:
                assert outcome.challenger_error is None
                assert outcome.decision.variant == route(identity, runtime.state)
    finally:
        runtime.close()


def test_concurrent_requests_are_scored_in_batches_each_answer_its_own(tmp_path: Path) -> None:
    settings, runtime, requests = canary_runtime(tmp_path, batch_size=16)
    entity = settings.schema_.entity
    answers: dict[int, Answer] = {}
    try:
        assert runtime.batcher is not None
        runtime.answer(requests[0])  # warm: the first feature read and model calls are slow

        def client(index: int) -> None:
            answers[index] = runtime.answer(requests[index])

        threads = [threading.Thread(target=client, args=(i,)) for i in range(len(requests))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        runtime.close()
    assert sorted(answers) == list(range(len(requests)))
    assert max(a.batch_size for a in answers.values()) > 1
    assert all(a.batch_size <= 16 for a in answers.values())
    for index, answer in answers.items():
        request = requests[index]
        assert getattr(answer.decision, entity) == getattr(request, entity)
        assert answer.decision.variant == route(getattr(request, entity), runtime.state)
        assert answer.elapsed_ms >= 1000 * answer.stages["queue"]
