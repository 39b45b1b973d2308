import numpy as np
import pytest

from serving.analysis import QualityComparison, VariantCounters, judge_interval, parse_metrics
from serving.canary import CanaryMetrics
from serving.significance import Interval

pytestmark = pytest.mark.unit

METRICS = CanaryMetrics(min_success_rate=0.99, max_p99_latency_ms=250, max_p99_latency_ratio=2.0, confidence=0.99)
rng = np.random.default_rng(0)
CHAMPION = VariantCounters.from_latencies(rng.lognormal(np.log(0.004), 0.3, 2000))


def fast(n: int, failed: int = 0) -> VariantCounters:
    return VariantCounters.from_latencies(np.random.default_rng(n).lognormal(np.log(0.004), 0.3, n), failed)


def test_too_few_requests_means_wait() -> None:
    verdict = judge_interval(CHAMPION, fast(3), METRICS, min_requests=10)
    assert verdict.outcome == "wait"


def test_a_healthy_challenger_passes() -> None:
    assert judge_interval(CHAMPION, fast(50), METRICS, 10).outcome == "pass"


def test_one_slow_request_among_thirty_decides_nothing() -> None:
    """The case that rolled back good models: the p99 of 30 requests is their maximum."""
    latencies = [*np.random.default_rng(1).lognormal(np.log(0.004), 0.3, 29), 0.05]
    verdict = judge_interval(CHAMPION, VariantCounters.from_latencies(latencies), METRICS, 10)
    assert verdict.outcome == "pass", verdict


def test_failures_and_slowness_fail_by_name() -> None:
    failing = judge_interval(CHAMPION, fast(40, failed=10), METRICS, 10)
    assert failing.outcome == "fail" and "success rate 0.800 < 0.99" in str(failing)
    slow = VariantCounters.from_latencies(np.random.default_rng(2).uniform(0.3, 0.5, 100))
    verdict = judge_interval(CHAMPION, slow, METRICS, 10)
    assert verdict.outcome == "fail" and "p99 over 250 ms: 100 of 100" in str(verdict)
    assert "p50 over 2 x champion's" in str(verdict) and "p99 over 2 x champion's" in str(verdict)


def test_counters_come_from_prometheus_text_and_subtract() -> None:
    text = """
# TYPE credit_requests_total counter
credit_requests_total{model_version="1",variant="champion"} 10.0
credit_requests_total{model_version="2",variant="challenger"} 4.0
# TYPE credit_errors_total counter
credit_errors_total{kind="challenger_fallback",variant="challenger"} 1.0
# TYPE credit_latency_seconds histogram
credit_latency_seconds_bucket{le="0.01",variant="challenger"} 3.0
credit_latency_seconds_bucket{le="+Inf",variant="challenger"} 4.0
"""
    counters = parse_metrics(text)
    assert counters["champion"].answered == 10 and counters["challenger"].failed == 1
    assert counters["challenger"].success_rate == 0.8
    delta = counters["challenger"].minus(VariantCounters(2, 1, {0.01: 1.0, float("inf"): 2.0}))
    assert (delta.answered, delta.failed, delta.latency_buckets[float("inf")]) == (2, 0, 2)


def test_counting_above_a_bar_never_counts_a_request_that_may_be_faster() -> None:
    counters = VariantCounters.from_latencies([0.004, 0.012, 0.04, 0.09])
    assert counters.count_above(0.01) == 3  # above the 0.01 bound
    assert counters.count_above(0.011) == 2  # the bar falls inside (0.01, 0.015]: counted from 0.015
    assert counters.count_above(10.0) == 0  # past the largest finite bound nothing can be told


def comparison(low: float, estimate: float, high: float) -> QualityComparison:
    return QualityComparison(0.82, 0.82 - estimate, 600, Interval(estimate, low, high, 0.99))


def test_quality_fails_only_when_surely_worse_and_waits_when_it_cannot_tell() -> None:
    healthy = (CHAMPION, fast(50), METRICS, 10)
    worse = judge_interval(*healthy, quality=comparison(0.05, 0.08, 0.11))
    assert worse.outcome == "fail" and "is 0.080 below the champion's 0.820 (at least 0.050" in str(worse)
    unclear = judge_interval(*healthy, quality=comparison(-0.01, 0.02, 0.05))
    assert unclear.outcome == "inconclusive", unclear
    fine = judge_interval(*healthy, quality=comparison(-0.03, -0.01, 0.01))
    assert fine.outcome == "pass" and "on 600 labelled rows" in str(fine)
