"""Seeded canaries, run through the controller's own rules: chance must not decide them.

Each run simulates the intervals of a compressed canary (serving/canary.yaml's steps, its
metrics and confidence) with the service's latency histogram buckets: the champion's
requests and the challenger's each interval, as the weight sets them, and labelled rows
arriving as the canary goes. A challenger drawn from the champion's own latency
distribution, and one of equal quality, must be promoted in every seeded run; a really
slower one and a really worse one must be rolled back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from serving.analysis import Progress, QualityComparison, VariantCounters, judge_interval
from serving.canary import compressed, load_canary_config
from serving.significance import paired_auc_difference

pytestmark = pytest.mark.unit

CONFIG = compressed(load_canary_config())
REQUESTS_PER_INTERVAL = 300  # about what the loop's traffic sends in a compressed interval
LABELLED_PER_INTERVAL = 150  # labels of earlier traffic arriving while the canary runs
Latency = Callable[[np.random.Generator, int], np.ndarray]


def served(rng: np.random.Generator, n: int) -> np.ndarray:
    """The service's own latency: a few milliseconds, and one request in 60 stalled (a GC, a busy core)."""
    base = rng.lognormal(np.log(0.004), 0.35, n)
    stalled = rng.random(n) < 1 / 60
    return np.where(stalled, base + rng.uniform(0.02, 0.06, n), base)


def three_times_slower(rng: np.random.Generator, n: int) -> np.ndarray:
    return 3 * served(rng, n)


def labelled_pool(rng: np.random.Generator, rows: int, challenger_noise: float) -> tuple[np.ndarray, ...]:
    """Rows both models scored, in the order their labels arrive; equal quality is the same noise around one signal."""
    signal = rng.normal(size=rows)
    labels = (rng.random(rows) < 1 / (1 + np.exp(-(1.6 * signal - 2.2)))).astype(int)
    champion = signal + rng.normal(scale=0.6, size=rows)
    challenger = signal + rng.normal(scale=challenger_noise, size=rows)
    return labels, champion, challenger


def canary(seed: int, latency: Latency = served, challenger_noise: float = 0.6, intervals: int = 40) -> str:
    """One simulated canary; its outcome by the controller's rules (promote, rollback, or still running)."""
    rng = np.random.default_rng(seed)
    progress = Progress(CONFIG.steps, CONFIG.analysis.threshold)
    champion_seen: list[np.ndarray] = []
    pending: list[np.ndarray] = []  # the challenger's requests since the interval last passed or failed
    labels, champion_scores, challenger_scores = labelled_pool(rng, intervals * LABELLED_PER_INTERVAL, challenger_noise)
    labelled = 0
    for _ in range(intervals):
        ours = int(REQUESTS_PER_INTERVAL * progress.weight / 100)
        champion_seen.append(served(rng, REQUESTS_PER_INTERVAL - ours))
        pending.append(latency(rng, ours))
        labelled += LABELLED_PER_INTERVAL
        quality = None
        if labelled >= CONFIG.metrics.min_labelled:
            seen = slice(0, labelled)
            interval = paired_auc_difference(
                labels[seen], champion_scores[seen], challenger_scores[seen], CONFIG.metrics.confidence
            )
            quality = QualityComparison(0.0, 0.0, labelled, interval)
        verdict = judge_interval(
            VariantCounters.from_latencies(np.concatenate(champion_seen)),
            VariantCounters.from_latencies(np.concatenate(pending)),
            CONFIG.metrics,
            CONFIG.analysis.min_requests,
            quality,
        )
        move = progress.record(verdict)
        if verdict.outcome in ("pass", "fail"):
            pending = []
        if move in ("promote", "rollback"):
            return move
    return "running"


def test_an_equally_fast_equally_good_challenger_is_promoted_in_20_of_20_seeded_runs() -> None:
    outcomes = [canary(seed) for seed in range(20)]
    assert outcomes == ["promote"] * 20


def test_a_really_slower_challenger_is_rolled_back() -> None:
    assert [canary(seed, latency=three_times_slower) for seed in range(5)] == ["rollback"] * 5


def test_a_really_worse_challenger_is_rolled_back() -> None:
    """Noise of 1.6 around the signal instead of 0.6: about 0.08 lower ROC AUC."""
    assert [canary(seed, challenger_noise=1.6) for seed in range(5)] == ["rollback"] * 5
