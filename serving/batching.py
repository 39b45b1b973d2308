"""Adaptive micro-batching inside the service: requests that arrive together are scored together.

Each request thread submits its item and waits; one batching thread takes everything
waiting (at most ``max_batch_size``) and hands it to the handler in one call, which
returns one outcome per item, a result or an exception of its own. Nothing waits on
purpose by default (``max_wait_ms: 0``): a lone request is a batch of one, while the
thread scores a batch the next requests queue up, so batches grow with the load and
shrink with it. That is the adaptive part, and why no tuning of a wait is needed.

Why not BentoML's ``batchable=True``: it makes the endpoint's argument a list, so the
``/predict`` body and its OpenAPI document would change, one context would answer the
whole batch (no per-request ``X-Model-Version`` header) and one exception would fail
every request in it. Here the HTTP contract stays one request, one answer, and the
handler keeps every request's routing, fallback, log record and metrics its own.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True)
class Submitted(Generic[In]):
    """One item waiting for its batch, and when it arrived (its time in the queue is part of its latency)."""

    item: In
    arrived: float  # time.perf_counter()


class MicroBatcher(Generic[In, Out]):
    """One thread that answers, in one handler call, every item waiting when it gets to them."""

    def __init__(
        self,
        handle: Callable[[Sequence[Submitted[In]]], Sequence[Out | BaseException]],
        max_batch_size: int,
        max_wait_ms: float = 0.0,
        name: str = "micro-batcher",
    ) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self.handle, self.max_batch_size, self.max_wait = handle, max_batch_size, max_wait_ms / 1000
        self._queue: queue.SimpleQueue[tuple[Submitted[In], Future[Out]] | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: In) -> Future[Out]:
        """Queue ``item``; the future holds its outcome once its batch is handled."""
        if self._closed.is_set():
            raise RuntimeError("the batcher is closed")
        future: Future[Out] = Future()
        self._queue.put((Submitted(item, time.perf_counter()), future))
        return future

    def __call__(self, item: In) -> Out:
        """Submit ``item`` and wait for its outcome: its result, or its own exception raised here."""
        return self.submit(item).result()

    def close(self, seconds: float = 10.0) -> None:
        """Answer what is queued, then stop the thread."""
        self._closed.set()
        self._queue.put(None)
        self._thread.join(seconds)

    def _next_batch(self) -> list[tuple[Submitted[In], Future[Out]]] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        deadline = time.perf_counter() + self.max_wait
        while len(batch) < self.max_batch_size:
            try:
                remaining = deadline - time.perf_counter()
                waiting = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if waiting is None:  # closing: this batch is still answered, then the loop ends
                self._queue.put(None)
                break
            batch.append(waiting)
        return batch

    def _loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                outcomes = self.handle([submitted for submitted, _ in batch])
                if len(outcomes) != len(batch):
                    raise RuntimeError(f"the handler answered {len(outcomes)} of {len(batch)} items")
            except BaseException as error:  # the handler itself failed: every item of the batch says why
                logger.exception("a batch of %d failed as a whole", len(batch))
                outcomes = [error] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
