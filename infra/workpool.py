"""Deploy the training flow to a Prefect work pool: how a team runs it on its servers.

``python -m infra.workpool --pool team-pool`` creates the pool (type ``process``) if it
is missing and deploys ``training-pipeline/<project>`` to it from this checkout, against
the Prefect server of ``PREFECT_API_URL``, and ``feature-refresh/<project>`` on a cron schedule
(``--refresh-cron``, hourly by default): batches that land between trainings are
validated, engineered and materialized incrementally (``pipelines/flows/refresh.py``).
With ``--services URL [URL ...]`` (every replica of the running service) it also deploys
``monitor`` on its own schedule (``--monitor-cron``, every 15 minutes): each run judges
the windows logged since the last (the log, the labels and the monitor's memory are on
the shared store), and on a trigger runs ``training-pipeline/<project>`` as a deployment and
takes the challenger it registers through the canary across those replicas.
A worker (``prefect worker start --pool team-pool``, the compose stack's
``prefect-worker``) then runs each flow run in a new process from the same source,
with the team profile's environment. The deployments are named by the params file's
``project``: two projects share a server and a pool, each its own deployments.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any, cast
from uuid import UUID

from core.settings import PROJECT_ROOT, load_settings

FLOW_ENTRYPOINT = "pipelines/flows/training.py:training_pipeline"
REFRESH_ENTRYPOINT = "pipelines/flows/refresh.py:feature_refresh"
MONITOR_ENTRYPOINT = "pipelines/flows/monitor.py:monitor"
REFRESH_CRON = "0 * * * *"  # hourly: how stale a batch-landed feature can be in the team profile
MONITOR_CRON = "*/15 * * * *"  # how long a drifted window can wait to be judged


def deployment_name(params: str | None = None) -> str:
    """The deployments' name: the project of ``params`` (default: ``MLOPS_PARAMS``, or the project's file)."""
    return load_settings(params).deployment


def training_deployment(params: str | None = None) -> str:
    """``training-pipeline/<project>``: the training deployment of this project, for ``run_deployment``."""
    return f"training-pipeline/{deployment_name(params)}"


def ensure_pool(name: str) -> None:
    """Create a process work pool named ``name`` unless the server already has one."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    # Already there: nothing to do.
    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=name, type="process"))


def deploy_training(pool: str, params: str | None = None) -> UUID:
    """Deploy the training flow to ``pool``; ``params`` names the params file the runs use."""
    return _deploy(FLOW_ENTRYPOINT, pool, params, cron=None)


def deploy_refresh(pool: str, params: str | None = None, cron: str = REFRESH_CRON) -> UUID:
    """Deploy the feature-refresh flow to ``pool``, scheduled by ``cron``."""
    return _deploy(REFRESH_ENTRYPOINT, pool, params, cron=cron)


def deploy_monitor(pool: str, services: list[str], params: str | None = None, cron: str = MONITOR_CRON) -> UUID:
    """Deploy the monitor flow to ``pool`` on ``cron``: it canaries retrained challengers across ``services``."""
    extra = {"services": services, "retrain_deployment": training_deployment(params)}
    return _deploy(MONITOR_ENTRYPOINT, pool, params, cron=cron, extra=extra)


def _deploy(
    entrypoint: str, pool: str, params: str | None, cron: str | None, extra: dict[str, Any] | None = None
) -> UUID:
    from prefect import Flow

    ensure_pool(pool)
    # Prefect's sync-compatible calls return plain values when called from sync code.
    source = cast(Flow[..., Any], Flow.from_source(source=str(PROJECT_ROOT), entrypoint=entrypoint))
    # The worker loads the settings in its own environment from this path (pipelines/flows/parameters.py).
    parameters = {"settings": params, **(extra or {})}
    deployed = source.deploy(
        name=deployment_name(params),
        work_pool_name=pool,
        parameters=parameters,
        cron=cron,
        build=False,
        push=False,
        print_next_steps=False,
    )
    return cast(UUID, deployed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.workpool", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", default="team-pool", help="the work pool (created if missing)")
    parser.add_argument("--params", default=None, help="params file for the runs (default: the project's)")
    parser.add_argument("--refresh-cron", default=REFRESH_CRON, help="feature-refresh schedule (cron, UTC)")
    parser.add_argument("--services", nargs="+", default=None, help="every replica's URL: also deploy the monitor")
    parser.add_argument("--monitor-cron", default=MONITOR_CRON, help="monitor schedule (cron, UTC)")
    args = parser.parse_args(argv)
    name = deployment_name(args.params)
    deployment = deploy_training(args.pool, args.params)
    print(f"deployed training-pipeline/{name} to {args.pool} ({deployment})")
    refresh = deploy_refresh(args.pool, args.params, args.refresh_cron)
    print(f"deployed feature-refresh/{name} to {args.pool} on '{args.refresh_cron}' ({refresh})")
    if args.services:
        monitor = deploy_monitor(args.pool, args.services, args.params, args.monitor_cron)
        print(f"deployed monitor/{name} to {args.pool} on '{args.monitor_cron}' for {args.services} ({monitor})")
    print(f"run it: prefect deployment run training-pipeline/{name}   (a worker on {args.pool} picks it up)")


if __name__ == "__main__":
    main()
