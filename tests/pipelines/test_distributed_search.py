"""The search on a Dask cluster through Prefect, chosen by configuration: a local cluster
of worker processes scores the candidates, on the same capped sample, and the outcome is the inline search's."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from core.settings import load_settings
from core.synthetic import LenderConfig, generate_week
from features.engineering import FeatureColumns
from pipelines.steps.distributed import score_all_for
from pipelines.steps.tuning import Candidate, ScoredCandidate, search

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def where_scored(candidate: Candidate) -> ScoredCandidate:
    """Reports the process that ran it (module level: Dask ships it by reference)."""
    return ScoredCandidate(candidate, {"pid": float(os.getpid())}, 0.0)


def test_a_dask_task_runner_scores_the_candidates_in_worker_processes() -> None:
    settings = load_settings(overrides={"prefect.task_runner": "dask", "prefect.dask_workers": 2}, environ={})
    assert score_all_for(load_settings(environ={}).prefect) is None  # the default stays inline
    score_all = score_all_for(settings.prefect)
    assert score_all is not None
    config = LenderConfig(applications_per_week=400, customers=1000)
    frame = pd.concat([generate_week(config, w) for w in range(1, 7)], ignore_index=True)
    columns = FeatureColumns.from_schema(settings.schema_)
    # A row cap below the search's training rows: the workers fit on the same sample as inline.
    training = settings.training.model_copy(
        update={"search": settings.training.search.model_copy(update={"budget": 4, "max_rows": 600})}
    )

    distributed_best, distributed = search(frame, settings.schema_, columns, training, score_all=score_all)
    inline_best, inline = search(frame, settings.schema_, columns, training)
    assert [s.candidate for s in distributed] == [s.candidate for s in inline]
    assert [s.fit_rows for s in distributed] == [s.fit_rows for s in inline] == [600] * 4
    for remote, local in zip(distributed, inline, strict=True):
        assert remote.metrics == pytest.approx(local.metrics)
    assert distributed_best.params == inline_best.params and distributed_best.family == inline_best.family

    # The candidates ran on the cluster's workers, not in this process.
    candidates = [s.candidate for s in inline]
    pids = {s.metrics["pid"] for s in score_all(where_scored, candidates)}
    assert os.getpid() not in pids
