import pytest

from serving.analysis import VariantCounters, judge_interval, parse_metrics
from serving.canary import CanaryMetrics

pytestmark = pytest.mark.unit

METRICS = CanaryMetrics(min_success_rate=0.99, max_p99_latency_ms=250, max_p99_latency_ratio=2.0)
FAST = {0.01: 90.0, 0.025: 99.0, 0.05: 100.0, float("inf"): 100.0}
SLOW = {0.01: 0.0, 0.1: 0.0, 0.25: 50.0, 0.5: 100.0, float("inf"): 100.0}


def test_too_few_requests_means_wait() -> None:
    verdict = judge_interval(VariantCounters(100, 0, FAST), VariantCounters(3, 0, FAST), METRICS, min_requests=10)
    assert verdict.outcome == "wait"


def test_a_healthy_challenger_passes() -> None:
    assert judge_interval(VariantCounters(100, 0, FAST), VariantCounters(50, 0, FAST), METRICS, 10).outcome == "pass"


def test_failures_and_slowness_fail_by_name() -> None:
    failing = judge_interval(VariantCounters(100, 0, FAST), VariantCounters(40, 10, FAST), METRICS, 10)
    assert failing.outcome == "fail" and "success rate 0.800" in str(failing)
    slow = judge_interval(VariantCounters(100, 0, FAST), VariantCounters(100, 0, SLOW), METRICS, 10)
    assert slow.outcome == "fail" and "p99 500 ms > 250" in str(slow) and "x champion" in str(slow)


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


def test_a_challenger_that_ranks_worse_once_labels_arrive_fails_by_name() -> None:
    from serving.analysis import QualityComparison

    healthy = (VariantCounters(100, 0, FAST), VariantCounters(50, 0, FAST), METRICS, 10)
    worse = QualityComparison(0.82, 0.74, 300, 250)
    verdict = judge_interval(*healthy, quality=worse)
    assert verdict.outcome == "fail" and "ROC AUC 0.740 is 0.080 below the champion's 0.820" in str(verdict)
    close = QualityComparison(0.82, 0.80, 300, 250)
    passed = judge_interval(*healthy, quality=close)
    assert passed.outcome == "pass" and "ROC AUC 0.800 vs 0.820 on 250/300 labelled" in str(passed)
