"""Wall-clock samples of a call, in milliseconds: what the benchmarks and their baselines share.

Each benchmark times its subject and a baseline in the same run with this one loop, so
the ratio it prints compares like with like.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


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
