"""Distributed scoring of the search's candidates: Prefect tasks on a Dask task runner.

Chosen by configuration (``prefect.task_runner: dask``): with ``prefect.dask_address``
(or ``MLOPS_DASK_ADDRESS``) the tasks go to that cluster's scheduler; without it, a
local cluster of ``prefect.dask_workers`` processes is started for the search and torn
down after it. The flow itself does not change: it hands ``tuning.search`` a
``score_all`` that maps the one-candidate scorer over the candidates as Prefect tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import TaskRunner

from core.sections import PrefectSettings
from pipelines.steps.tuning import Candidate, ScoreAll, ScoredCandidate


@task(name="score-candidate", cache_policy=NO_CACHE)
def score_candidate_task(score: Callable[[Candidate], ScoredCandidate], candidate: Candidate) -> ScoredCandidate:
    return score(candidate)


@flow(name="search-candidates")
def search_candidates(
    score: Callable[[Candidate], ScoredCandidate], candidates: list[Candidate]
) -> list[ScoredCandidate]:
    """One task per candidate, on the task runner this flow is given; results in candidate order."""
    futures = score_candidate_task.map(unmapped(score), candidates)
    return [future.result() for future in futures]


def dask_runner(settings: PrefectSettings) -> TaskRunner[Any]:
    from prefect_dask import DaskTaskRunner

    runner: TaskRunner[Any]
    if settings.dask_address:
        runner = DaskTaskRunner(address=settings.dask_address)
    else:
        # Processes, one thread each: scikit-learn fits hold the GIL for much of their time.
        local = {"n_workers": settings.dask_workers, "threads_per_worker": 1, "processes": True}
        runner = DaskTaskRunner(cluster_kwargs={**local, "dashboard_address": None})
    return runner


def score_all_for(settings: PrefectSettings) -> ScoreAll | None:
    """The search's ``score_all`` for this configuration: None scores inline, in this process."""
    if settings.task_runner != "dask":
        return None
    runner = dask_runner(settings)

    def score_all(score: Callable[[Candidate], ScoredCandidate], candidates: list[Candidate]) -> list[ScoredCandidate]:
        return search_candidates.with_options(task_runner=runner)(score, candidates)

    return score_all
