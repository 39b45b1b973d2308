"""Canary analysis: judge one interval of the challenger against the champion. Plain functions.

Every rule is a test with a confidence (serving/significance.py), so a verdict says what
the data show, not what a few slow requests happened to do.

Like Flagger, it reads the service's Prometheus metrics rather than trusting the
service's own opinion: the counters are scraped at the start and end of an interval
and the difference is judged. A request routed to the challenger that failed was
answered by the champion and counted as a ``challenger_fallback`` error, so the
challenger's success rate is its answers over its answers plus its fallbacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from serving.canary import CanaryMetrics
from serving.significance import Interval, share_exceeds, share_exceeds_other

# The service's latency histogram buckets (seconds): fine around a request's few
# milliseconds, so a bar such as "twice the champion's p99" falls near a bound.
LATENCY_BUCKETS = (0.002, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5)
# The stages of one request inside the service (a feature read, a model call, a log line) take
# tenths of a millisecond: finer buckets, up to the stalls a tail is made of.
STAGE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


@dataclass
class VariantCounters:
    answered: float = 0.0
    failed: float = 0.0
    latency_buckets: dict[float, float] = field(default_factory=dict)  # upper bound (s) -> cumulative count

    @classmethod
    def from_latencies(cls, seconds: Sequence[float] | np.ndarray, failed: int = 0) -> VariantCounters:
        """The counters a service would export after answering requests that took ``seconds`` each."""
        samples = np.sort(np.asarray(seconds, dtype=float))
        buckets = {b: float(np.searchsorted(samples, b, side="right")) for b in LATENCY_BUCKETS}
        buckets[float("inf")] = float(len(samples))
        return cls(float(len(samples)), float(failed), buckets)

    def minus(self, before: VariantCounters) -> VariantCounters:
        return VariantCounters(
            self.answered - before.answered,
            self.failed - before.failed,
            {le: n - before.latency_buckets.get(le, 0.0) for le, n in self.latency_buckets.items()},
        )

    def plus(self, other: VariantCounters) -> VariantCounters:
        """Two replicas' counters as one service's: the same buckets, added."""
        bounds = set(self.latency_buckets) | set(other.latency_buckets)
        return VariantCounters(
            self.answered + other.answered,
            self.failed + other.failed,
            {le: self.latency_buckets.get(le, 0.0) + other.latency_buckets.get(le, 0.0) for le in bounds},
        )

    @property
    def attempts(self) -> float:
        return self.answered + self.failed

    @property
    def success_rate(self) -> float:
        return self.answered / self.attempts if self.attempts else 1.0

    def count_above(self, seconds: float) -> int:
        """Requests certainly slower than ``seconds``: those above the smallest bucket bound at or over it.

        Counting from that bound, not from ``seconds``, never counts a request that might
        have been faster than the bar; past the largest finite bound nothing can be told.
        """
        total = self.latency_buckets.get(float("inf"), 0.0)
        bounds = sorted(b for b in self.latency_buckets if b >= seconds)
        if not bounds or bounds[0] == float("inf"):
            return 0
        return round(total - self.latency_buckets[bounds[0]])

    def quantile_ms(self, q: float) -> float:
        """The ``q`` quantile from the histogram: the upper bound of the bucket it falls in."""
        total = self.latency_buckets.get(float("inf"), 0.0)
        if total <= 0:
            return 0.0
        for bound in sorted(self.latency_buckets):
            if self.latency_buckets[bound] >= q * total:
                return bound * 1000 if bound != float("inf") else float("inf")
        return float("inf")

    def p99_ms(self) -> float:
        return self.quantile_ms(0.99)


def parse_metrics(text: str) -> dict[str, VariantCounters]:
    """Per-variant counters from the service's ``/metrics`` text."""
    variants = {"champion": VariantCounters(), "challenger": VariantCounters()}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            variant = sample.labels.get("variant")
            if variant not in variants:
                continue
            counters = variants[variant]
            if sample.name == "credit_requests_total":
                counters.answered += sample.value
            elif sample.name == "credit_errors_total" and sample.labels.get("kind") == "challenger_fallback":
                counters.failed += sample.value
            elif sample.name == "credit_latency_seconds_bucket":
                bound = float(sample.labels["le"])
                counters.latency_buckets[bound] = counters.latency_buckets.get(bound, 0.0) + sample.value
    return variants


@dataclass(frozen=True)
class QualityComparison:
    """Both models' ROC AUC on the same labelled rows, and the paired interval of their difference.

    ``degradation`` is the champion's AUC minus the challenger's: positive means the
    challenger ranks worse. ``pairing`` says how both scores of a row were had: the
    shadow score logged beside the answer, or the other model scoring the logged
    features offline.
    """

    champion_roc_auc: float
    challenger_roc_auc: float
    labelled: int
    degradation: Interval
    pairing: str = "offline"


Outcome = Literal["pass", "fail", "wait", "inconclusive"]
P99_MIN_REQUESTS = 100  # a p99 says something only past 100 requests: below, it is the maximum


@dataclass(frozen=True)
class IntervalVerdict:
    outcome: Outcome
    reasons: list[str]
    challenger_requests: int
    success_rate: float
    challenger_p99_ms: float
    champion_p99_ms: float

    def __str__(self) -> str:
        return f"{self.outcome}: " + "; ".join(self.reasons)


def _p(value: float) -> str:
    return f"p={value:.2g}"


def _slower_than(champion: VariantCounters, challenger: VariantCounters, q: float, ratio: float, alpha: float) -> str:
    """Why the challenger's ``q`` quantile is over ``ratio`` times the champion's, or "" when the data do not show it.

    The bar is ``ratio`` x the champion's quantile; the challenger may have at most
    ``1 - q`` of its requests above it. It fails only if its share above the bar is
    both more than that (binomial test) and more than the champion's own (Fisher's
    exact test, which cancels stalls both variants lived through).
    """
    theirs = champion.quantile_ms(q)
    if theirs <= 0 or theirs == float("inf"):
        return ""
    bar = ratio * theirs / 1000
    slow, slow_champion, requests = challenger.count_above(bar), champion.count_above(bar), int(challenger.attempts)
    against_share = share_exceeds(slow, requests, 1 - q)
    against_champion = share_exceeds_other(slow, requests, slow_champion, int(champion.attempts))
    if max(against_share, against_champion) >= alpha:
        return ""
    return (
        f"over {ratio:g} x champion's {theirs:.0f} ms: {slow} of {requests} requests above {bar * 1000:.0f} ms "
        f"(allowed {1 - q:.0%}), champion {slow_champion} of {int(champion.attempts)} ({_p(against_champion)})"
    )


QualityJudgement = Literal["worse", "fine", "inconclusive"]


def judge_quality(quality: QualityComparison, metrics: CanaryMetrics) -> tuple[QualityJudgement, str]:
    """The quality rule of a canary interval, and what it saw: worse (fails), fine, or not yet told apart.

    The challenger's ROC AUC may fall at most ``max_quality_degradation`` below the
    champion's: worse when even the low end of the paired interval exceeds it, fine when
    the high end stays within it (serving/significance.py). Shared by ``judge_interval``
    and the cluster's quality job (monitoring/quality_check.py).
    """
    judged = quality.degradation.judge(metrics.max_quality_degradation)
    if judged == "worse":
        return "worse", (
            f"ROC AUC {quality.challenger_roc_auc:.3f} is {quality.degradation.estimate:.3f} below the "
            f"champion's {quality.champion_roc_auc:.3f} (at least {quality.degradation.low:.3f} at "
            f"{metrics.confidence:.0%} confidence; allowed {metrics.max_quality_degradation})"
        )
    return "fine" if judged == "fine" else "inconclusive", (
        f"ROC AUC {quality.challenger_roc_auc:.3f} vs {quality.champion_roc_auc:.3f} on {quality.labelled} "
        f"labelled rows ({quality.pairing}; degradation {quality.degradation.estimate:+.3f}, "
        f"{metrics.confidence:.0%} bounds {quality.degradation.low:+.3f}..{quality.degradation.high:+.3f})"
    )


def judge_interval(
    champion: VariantCounters,
    challenger: VariantCounters,
    metrics: CanaryMetrics,
    min_requests: int,
    quality: QualityComparison | None = None,
) -> IntervalVerdict:
    """Pass, fail, wait (too few challenger requests) or inconclusive (quality not yet told apart).

    ``challenger`` holds the challenger's counters for this interval; ``champion`` the
    champion's since the canary began, a sample large enough for its p99. Each rule is a
    one-sided test at ``metrics.confidence`` (serving/significance.py): an interval fails
    only when the data show the challenger misses a bar, never because a few requests
    were slow by chance. ``quality`` is given once enough labelled rows exist; until then
    the challenger is judged on errors and latency alone.
    """
    requests = int(challenger.attempts)
    ours, theirs = challenger.p99_ms(), champion.p99_ms()
    alpha = 1.0 - metrics.confidence

    def verdict(outcome: Outcome, reasons: list[str]) -> IntervalVerdict:
        return IntervalVerdict(outcome, reasons, requests, challenger.success_rate, ours, theirs)

    if requests < min_requests:
        return verdict("wait", [f"{requests} challenger requests, need {min_requests}"])
    failures = []
    allowed_errors = 1.0 - metrics.min_success_rate
    errors = share_exceeds(int(challenger.failed), requests, allowed_errors)
    if errors < alpha:
        failures.append(f"success rate {challenger.success_rate:.3f} < {metrics.min_success_rate} ({_p(errors)})")
    over_ceiling = challenger.count_above(metrics.max_p99_latency_ms / 1000)
    ceiling = share_exceeds(over_ceiling, requests, 0.01)
    if ceiling < alpha:
        failures.append(
            f"p99 over {metrics.max_p99_latency_ms:g} ms: {over_ceiling} of {requests} requests above it "
            f"({_p(ceiling)})"
        )
    if champion.attempts >= P99_MIN_REQUESTS:
        for name, q, ratio in (
            ("p50", 0.5, metrics.max_p50_latency_ratio),
            ("p99", 0.99, metrics.max_p99_latency_ratio),
        ):
            failed = _slower_than(champion, challenger, q, ratio, alpha)
            if failed:
                failures.append(f"{name} {failed}")
    judged_quality, quality_said = judge_quality(quality, metrics) if quality is not None else (None, "")
    if judged_quality == "worse":
        failures.append(quality_said)
    if failures:
        return verdict("fail", failures)
    shown_p99 = f"{ours:.0f} ms" if requests >= P99_MIN_REQUESTS else f"max bucket {ours:.0f} ms"
    summary = f"success {challenger.success_rate:.3f}, p99 {shown_p99} (champion {theirs:.0f} ms), {requests} requests"
    if quality_said:
        summary += f", {quality_said}"
    if judged_quality == "inconclusive":
        return verdict("inconclusive", [f"{summary}: quality not yet told apart from the allowed degradation"])
    return verdict("pass", [summary])


Move = Literal["advance", "promote", "rollback", "stay"]


@dataclass
class Progress:
    """Where a canary stands between intervals, and what each verdict makes of it: the controller's rules.

    A pass advances one step (or promotes at the last); ``threshold`` failed intervals
    in a row roll back; wait and inconclusive stay on the step, and the interval keeps
    growing until its data can tell. Plain, so a simulation can run the same rules.
    """

    steps: tuple[int, ...]
    threshold: int
    step: int = 0
    failures: int = 0

    @property
    def weight(self) -> int:
        return self.steps[self.step]

    def record(self, verdict: IntervalVerdict) -> Move:
        if verdict.outcome == "pass":
            self.failures = 0
            if self.step == len(self.steps) - 1:
                return "promote"
            self.step += 1
            return "advance"
        if verdict.outcome == "fail":
            self.failures += 1
            return "rollback" if self.failures >= self.threshold else "stay"
        return "stay"
