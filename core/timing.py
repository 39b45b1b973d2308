"""Wall-clock time: samples of a call for the benchmarks, and the steps of a run for its summary.

Each benchmark times its subject and a baseline in the same run with one loop
(``timings_ms``), so the ratio it prints compares like with like. ``StepClock`` records
how long each step of a pipeline run took, which the run's summary prints and
``make bench-scale`` reads (with each step's peak memory).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Told the name of each step a StepClock finishes: how a caller reacts to a step of a
# flow it runs (the loop starts the service once the features are served) without the
# flow knowing. A context variable, so it travels into the flow run without being a
# flow parameter.
step_finished: ContextVar[Callable[[str], None] | None] = ContextVar("step_finished", default=None)


def timings_ms(call: Callable[[], object], repeat: int, *, warm_up: bool = True) -> list[float]:
    """``repeat`` timed calls; with ``warm_up``, one untimed call first (imports, connections, caches)."""
    if warm_up:
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def median_ms(call: Callable[[], object], repeat: int, *, warm_up: bool = True) -> float:
    return statistics.median(timings_ms(call, repeat, warm_up=warm_up))


@dataclass(frozen=True)
class StepTime:
    """One step of a run: its wall time, and the process's peak resident memory while it ran."""

    name: str
    seconds: float
    peak_mb: float | None = None  # None where the kernel cannot tell (not Linux), or when not measured
    cpu_seconds: float = 0.0  # this process's CPU time (all its threads) during the step; not its children's


class StepClock:
    """The wall and CPU time of each named step, in the order they ran; optionally their peak memory.

    Peak memory is the process's high-water mark of resident memory (``VmHWM``), reset
    as each step starts (Linux ``clear_refs``), so each step reports its own peak, its
    imports and everything it keeps included. Steps measured for memory must not nest.
    """

    def __init__(self, *, memory: bool = False) -> None:
        self.steps: list[StepTime] = []
        self._memory = memory

    @contextmanager
    def step(self, name: str, since: float | None = None) -> Iterator[None]:
        """Time the block as step ``name``; with ``since`` (a ``time.perf_counter()``), from then,
        and its CPU time from the process's start."""
        if self._memory:
            _reset_peak_memory()
        started = time.perf_counter() if since is None else since
        cpu = time.process_time() if since is None else 0.0
        try:
            yield
        finally:
            peak = _peak_memory_mb() if self._memory else None
            self.steps.append(StepTime(name, time.perf_counter() - started, peak, time.process_time() - cpu))
        if (listener := step_finished.get()) is not None:
            listener(name)

    def call(self, name: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)``, timed as step ``name``."""
        with self.step(name):
            return function(*args, **kwargs)

    @property
    def total(self) -> float:
        return sum(s.seconds for s in self.steps)


def _reset_peak_memory() -> None:
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_memory_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
