"""Automated model selection over a configured search space, under a budget.

Candidates come from scikit-learn's ``ParameterGrid`` over each family's space, drawn
in a seeded order that alternates families, so a small budget still tries every
family. Each is fitted on the training weeks minus the last ``validation_weeks`` (on at
most ``search.max_rows`` of their rows: a sample stratified by week and label) and scored
on every row of the validation weeks; the holdout stays untouched until the winner is
chosen, because the gate judges on it. The winner is then refitted on all training weeks,
every row.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import ParameterGrid

from core.contract import Schema
from core.sections import LOWER_IS_BETTER, TrainingSettings
from features.engineering import FeatureColumns, features_of
from pipelines.steps.training import Split, TrainedModel, build_model, evaluate, fit_and_score, time_split


@dataclass(frozen=True)
class Candidate:
    family: str
    params: dict[str, Any]

    @property
    def label(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.family}({shown})"


@dataclass(frozen=True)
class ScoredCandidate:
    candidate: Candidate
    metrics: dict[str, float]
    seconds: float
    eligible: bool = True  # meets the floors and ceilings on the validation weeks
    fit_rows: int | None = None  # the rows it was fitted on (at most search.max_rows)


@dataclass(frozen=True)
class Constraints:
    """Floors and ceilings a candidate must meet on validation to be chosen (the gate's absolute rules)."""

    minimums: dict[str, float]
    maximums: dict[str, float]

    def met_by(self, metrics: dict[str, float]) -> bool:
        return all(metrics[m] >= v for m, v in self.minimums.items()) and all(
            metrics[m] <= v for m, v in self.maximums.items()
        )


def candidates(training: TrainingSettings) -> list[Candidate]:
    """Up to ``search.budget`` candidates, families interleaved, in a seeded order."""
    rng = np.random.default_rng(training.seed)
    per_family = []
    for family, space in training.search.space.items():
        grid = [Candidate(family, dict(params)) for params in ParameterGrid(space)]
        per_family.append([grid[i] for i in rng.permutation(len(grid))])
    interleaved = [c for group in itertools.zip_longest(*per_family) for c in group if c is not None]
    return interleaved[: training.search.budget]


def better(metric: str, a: float, b: float) -> bool:
    """Is ``a`` a better value of ``metric`` than ``b``?"""
    return a < b if metric in LOWER_IS_BETTER else a > b


def score_candidate(
    inner: Split,
    schema: Schema,
    columns: FeatureColumns,
    training: TrainingSettings,
    candidate: Candidate,
    constraints: Constraints | None = None,
) -> ScoredCandidate:
    """Fit one candidate on the inner training weeks and score it on the validation weeks."""
    started = time.perf_counter()
    model = build_model(columns, candidate.family, candidate.params, training.seed)
    model.fit(features_of(inner.train, columns), inner.train[schema.label])
    proba = model.predict_proba(features_of(inner.holdout, columns))[:, 1]
    metrics = evaluate(inner.holdout[schema.label], proba, training.decision_threshold)
    eligible = constraints.met_by(metrics) if constraints else True
    return ScoredCandidate(candidate, metrics, time.perf_counter() - started, eligible, len(inner.train))


# Weeks start on Mondays, as the time split's do: this Monday is week 0.
FIRST_MONDAY = pd.Timestamp("1970-01-05", tz="UTC")


def search_rows(train: pd.DataFrame, schema: Schema, max_rows: int | None, seed: int) -> pd.DataFrame:
    """The rows the candidates are fitted on: all of ``train``, or a sample of ``max_rows`` of them.

    The sample is stratified by week and label: every week keeps its share of the rows,
    and its label rate. The candidates thus learn from a miniature of what the winner is
    refitted on (early weeks, whose entities have less history, as well as late ones),
    so they rank as they would on all of it; the latest rows alone would rank them on a
    different mix. Seeded, so a rerun draws the same rows; they stay in event order.
    """
    if max_rows is None or len(train) <= max_rows:
        return train
    timestamps = pd.to_datetime(train[schema.timestamp], utc=True)
    weeks = pd.factorize(((timestamps - FIRST_MONDAY) // pd.Timedelta(weeks=1)).to_numpy())[0]
    labels, values = pd.factorize(train[schema.label])  # a missing label is its own stratum (-1)
    _, stratum, counts = np.unique(weeks * (len(values) + 1) + labels + 1, return_inverse=True, return_counts=True)
    # Each stratum's share of max_rows, rounded so the shares add up to max_rows exactly.
    quota = counts * (max_rows / len(train))
    take = np.floor(quota).astype(np.int64)
    take[np.argsort(take - quota, kind="stable")[: max_rows - int(take.sum())]] += 1
    shuffled = np.random.default_rng(seed).permutation(len(train))
    by_stratum = shuffled[np.argsort(stratum[shuffled], kind="stable")]  # each stratum's rows, in random order
    starts = np.cumsum(counts) - counts
    chosen = np.sort(np.concatenate([by_stratum[start : start + n] for start, n in zip(starts, take, strict=True)]))
    return train.iloc[chosen].reset_index(drop=True)


# Scores every candidate with the given one-candidate function: in this process by
# default, or on a distributed engine (pipelines/flows.py passes a Dask-backed one).
ScoreAll = Callable[[Callable[[Candidate], ScoredCandidate], list[Candidate]], list[ScoredCandidate]]


def search(
    frame: pd.DataFrame,
    schema: Schema,
    columns: FeatureColumns,
    training: TrainingSettings,
    constraints: Constraints | None = None,
    on_candidate: Callable[[ScoredCandidate], None] = lambda scored: None,
    score_all: ScoreAll | None = None,
) -> tuple[TrainedModel, list[ScoredCandidate]]:
    """Score every candidate on the validation weeks; refit the best; evaluate it on the holdout.

    "Best" is the top primary metric among candidates that meet ``constraints`` (a
    well-ranking but miscalibrated model would only be rejected by the gate later);
    if none does, the top one overall, and the gate will say why it falls short.
    """
    outer = time_split(frame, schema, training.holdout_weeks)
    inner = time_split(outer.train, schema, training.search.validation_weeks)
    # Fitted on at most max_rows of the inner training weeks, scored on every validation row.
    # ``score`` carries this split, so a distributed engine fits on the same sample.
    inner = dataclasses.replace(inner, train=search_rows(inner.train, schema, training.search.max_rows, training.seed))
    metric = training.search.primary_metric

    def score(candidate: Candidate) -> ScoredCandidate:
        return score_candidate(inner, schema, columns, training, candidate, constraints)

    scored: list[ScoredCandidate] = []
    if score_all is None:
        for candidate in candidates(training):
            scored.append(score(candidate))
            on_candidate(scored[-1])
    else:
        scored = score_all(score, candidates(training))
        for result in scored:
            on_candidate(result)
    pool = [r for r in scored if r.eligible] or scored
    best = pool[0]
    for result in pool[1:]:
        if better(metric, result.metrics[metric], best.metrics[metric]):
            best = result
    return refit(outer, schema, columns, training, best.candidate), scored


def refit(
    split: Split, schema: Schema, columns: FeatureColumns, training: TrainingSettings, chosen: Candidate
) -> TrainedModel:
    """Fit ``chosen`` on all training weeks and score it on the holdout."""
    return fit_and_score(split, schema, columns, chosen.family, chosen.params, training)
