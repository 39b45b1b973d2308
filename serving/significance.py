"""The statistics a canary verdict rests on, so that chance cannot decide it.

A canary interval sees few requests of the challenger (a few dozen at a low weight,
in a compressed demo interval), and a quantile or a ROC AUC taken over so few is mostly
noise: the p99 of 30 requests is their maximum, and two AUCs over 250 different
customers each differ by about the allowed degradation by chance alone. So every
verdict here is a test with a stated confidence, and each has three answers:

* **worse**: the data show, with the configured confidence, that the bar is missed;
* **fine**: the data show, with that confidence, that it is met (only the quality
  comparison can say this; latency and errors pass unless a test rejects them);
* **inconclusive**: neither yet. The canary waits for more data (Argo Rollouts'
  "inconclusive"), and does not fail.

The tests: scipy's one-sided binomial test for a share of requests over a bar and
Fisher's exact test to compare two variants' shares; for the difference of two ROC
AUCs on the same labelled rows, DeLong's paired interval (a few lines over scipy's
ranks, milliseconds where a bootstrap takes a second per interval).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def share_exceeds(count: int, total: int, allowed: float) -> float:
    """p-value that more than ``allowed`` of all requests miss a bar, given ``count`` of ``total`` did.

    One-sided binomial test of H0: the true share is at most ``allowed``. A small value
    means the data contradict H0: the variant misses the bar too often.
    """
    if total <= 0 or count <= 0:
        return 1.0
    return float(stats.binomtest(int(count), int(total), allowed, alternative="greater").pvalue)


def share_exceeds_other(count: int, total: int, other_count: int, other_total: int) -> float:
    """p-value that the first variant's share over a bar is larger than the other's (Fisher's exact test).

    Both variants live through the same moments (a garbage collection, a busy neighbour,
    a burst of traffic), so comparing their shares in the same period cancels what
    stalls both.
    """
    if total <= 0 or other_total <= 0 or count <= 0:
        return 1.0
    table = [[int(count), int(total - count)], [int(other_count), int(other_total - other_count)]]
    return float(stats.fisher_exact(table, alternative="greater").pvalue)


@dataclass(frozen=True)
class Interval:
    """A confidence interval for a difference, at ``confidence``."""

    estimate: float
    low: float
    high: float
    confidence: float

    def judge(self, allowed: float) -> str:
        """``worse`` if even the low end exceeds ``allowed``, ``fine`` if the high end stays within it."""
        if self.low > allowed:
            return "worse"
        if self.high <= allowed:
            return "fine"
        return "inconclusive"


def _placements(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components: each positive's share of negatives it outranks, each negative's likewise.

    From midranks (ties count a half): a positive's placement is its rank among all
    rows minus its rank among the positives, over the number of negatives.
    """
    positive = labels == 1
    ranks = stats.rankdata(scores)
    n1, n0 = int(positive.sum()), int((~positive).sum())
    among_positives = stats.rankdata(scores[positive])
    among_negatives = stats.rankdata(scores[~positive])
    v10 = (ranks[positive] - among_positives) / n0
    v01 = 1.0 - (ranks[~positive] - among_negatives) / n1
    return v10, v01


def paired_auc_difference(labels: np.ndarray, first: np.ndarray, second: np.ndarray, confidence: float) -> Interval:
    """ROC AUC of ``first`` minus that of ``second`` on the same rows, with DeLong's paired interval.

    Both models scored the same rows, so their errors are correlated and the difference
    is far more precise than two AUCs on different rows. DeLong, Delong and
    Clarke-Pearson (1988) give the covariance of the two AUCs from each row's
    placements, in O(n log n); each end of the interval is a one-sided bound at
    ``confidence`` (normal approximation), which is what a non-inferiority verdict needs.
    """
    y = np.asarray(labels).astype(int)
    if y.min() == y.max():
        raise ValueError("ROC AUC needs both outcomes among the labelled rows")
    parts = [_placements(y, np.asarray(scores, dtype=float)) for scores in (first, second)]
    v10 = np.vstack([p[0] for p in parts])  # models x positives
    v01 = np.vstack([p[1] for p in parts])  # models x negatives
    auc = v10.mean(axis=1)
    contrast = np.array([1.0, -1.0])
    variance = contrast @ np.cov(v10) @ contrast / v10.shape[1] + contrast @ np.cov(v01) @ contrast / v01.shape[1]
    estimate = float(auc[0] - auc[1])
    margin = float(stats.norm.ppf(confidence) * np.sqrt(max(variance, 0.0)))
    return Interval(estimate, estimate - margin, estimate + margin, confidence)
