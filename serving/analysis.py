"""Canary analysis: judge one interval of the challenger against the champion. Plain functions.

Like Flagger, it reads the service's Prometheus metrics rather than trusting the
service's own opinion: the counters are scraped at the start and end of an interval
and the difference is judged. A request routed to the challenger that failed was
answered by the champion and counted as a ``challenger_fallback`` error, so the
challenger's success rate is its answers over its answers plus its fallbacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from prometheus_client.parser import text_string_to_metric_families

from serving.canary import CanaryMetrics


@dataclass
class VariantCounters:
    answered: float = 0.0
    failed: float = 0.0
    latency_buckets: dict[float, float] = field(default_factory=dict)  # upper bound (s) -> cumulative count

    def minus(self, before: VariantCounters) -> VariantCounters:
        return VariantCounters(
            self.answered - before.answered,
            self.failed - before.failed,
            {le: n - before.latency_buckets.get(le, 0.0) for le, n in self.latency_buckets.items()},
        )

    @property
    def attempts(self) -> float:
        return self.answered + self.failed

    @property
    def success_rate(self) -> float:
        return self.answered / self.attempts if self.attempts else 1.0

    def p99_ms(self) -> float:
        """The 99th percentile from the histogram: the upper bound of the bucket it falls in."""
        total = self.latency_buckets.get(float("inf"), 0.0)
        if total <= 0:
            return 0.0
        for bound in sorted(self.latency_buckets):
            if self.latency_buckets[bound] >= 0.99 * total:
                return bound * 1000 if bound != float("inf") else float("inf")
        return float("inf")


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
    """ROC AUC of each variant on its own labelled predictions since the canary began."""

    champion_roc_auc: float
    challenger_roc_auc: float
    champion_labelled: int
    challenger_labelled: int

    @property
    def degradation(self) -> float:
        return self.champion_roc_auc - self.challenger_roc_auc


Outcome = Literal["pass", "fail", "wait"]


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


def judge_interval(
    champion: VariantCounters,
    challenger: VariantCounters,
    metrics: CanaryMetrics,
    min_requests: int,
    quality: QualityComparison | None = None,
) -> IntervalVerdict:
    """Pass, fail, or wait (too few challenger requests to judge) for one interval.

    ``quality`` is given once enough labelled predictions of both variants exist; until
    then the challenger is judged on success rate and latency alone.
    """
    requests = int(challenger.attempts)
    ours, theirs = challenger.p99_ms(), champion.p99_ms()

    def verdict(outcome: Outcome, reasons: list[str]) -> IntervalVerdict:
        return IntervalVerdict(outcome, reasons, requests, challenger.success_rate, ours, theirs)

    if requests < min_requests:
        return verdict("wait", [f"{requests} challenger requests, need {min_requests}"])
    failures = []
    if challenger.success_rate < metrics.min_success_rate:
        failures.append(f"success rate {challenger.success_rate:.3f} < {metrics.min_success_rate}")
    if ours > metrics.max_p99_latency_ms:
        failures.append(f"p99 {ours:.0f} ms > {metrics.max_p99_latency_ms} ms")
    if theirs > 0 and ours > metrics.max_p99_latency_ratio * theirs:
        failures.append(f"p99 {ours:.0f} ms > {metrics.max_p99_latency_ratio} x champion's {theirs:.0f} ms")
    if quality is not None and quality.degradation > metrics.max_quality_degradation:
        failures.append(
            f"ROC AUC {quality.challenger_roc_auc:.3f} is {quality.degradation:.3f} below the champion's "
            f"{quality.champion_roc_auc:.3f} (allowed {metrics.max_quality_degradation})"
        )
    if failures:
        return verdict("fail", failures)
    summary = (
        f"success {challenger.success_rate:.3f}, p99 {ours:.0f} ms (champion {theirs:.0f} ms), {requests} requests"
    )
    if quality is not None:
        summary += (
            f", ROC AUC {quality.challenger_roc_auc:.3f} vs {quality.champion_roc_auc:.3f} "
            f"on {quality.challenger_labelled}/{quality.champion_labelled} labelled"
        )
    return verdict("pass", [summary])
