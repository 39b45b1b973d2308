"""The ``feature-refresh`` flow: batch freshness between trainings, on a schedule in the team profile.

    landing folder ──► validate ──► accept ──► engineer features ──► version ──► feature store
                                                                                (materialize-incremental)

The data half of the training flow, without training: the batches waiting in the
landing folder are validated (a refused one is quarantined, as always), the history
table is rebuilt from the accepted data, and Feast's ``materialize_incremental`` loads
only the rows since the last materialization (``features/store.py``). ``python -m
infra.workpool`` deploys it on a cron schedule (``--refresh-cron``) next to the
training deployment, so a row of data that never went through the service is online
within one schedule interval of landing. The served events need none of this: the
service writes their rows online as it answers (``features.fresh_online``).
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from features import ingest
from pipelines.flows.parameters import SettingsParameter
from pipelines.results import StoreState
from pipelines.steps import data, log

validate = task(name="validate", cache_policy=NO_CACHE)(data.validate)
engineer = task(name="engineer-features", cache_policy=NO_CACHE)(data.engineer)
version = task(name="version", cache_policy=NO_CACHE)(data.version)
feature_store = task(name="feature-store", cache_policy=NO_CACHE)(data.serve_features)


@flow(name="feature-refresh", log_prints=True)
def feature_refresh(settings: SettingsParameter) -> StoreState | None:
    """Accept what landed, rebuild the history table, materialize the new rows; None when nothing landed."""
    waiting = ingest.landed_batches(settings)
    if not waiting:
        log().info("no batch waiting in %s: the online store is as current as the data", settings.landing_dir)
        return None
    verdicts = validate(settings, waiting)
    if not any(v.passed for v in verdicts):
        return None
    engineer(settings)
    version(settings)
    return feature_store(settings)
