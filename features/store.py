"""The Feast feature store: definitions, apply, materialize, and both read paths.

Definitions are built from the settings (``build_definitions``), so the feature view's
schema follows ``features.history`` in params.yaml. ``feature_repo/`` holds the
``feature_store.yaml`` read by both the SDK (here) and the ``feast`` CLI, whose
``${MLOPS_STATE_DIR}`` puts the registry and the online store in the state folder.

Both read paths end in ``finished_columns``: the training frame comes from
``get_historical_features`` (point in time), the serving row from
``get_online_features``, and the same function adds the request-time ratios to each.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import io
import os
import string
import sys
from collections import ChainMap
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from core.environment import tool_environment
from core.settings import Settings
from features.engineering import (
    FeatureColumns,
    finished_columns,
    history_feature_names,
    request_feature_names,
)

if TYPE_CHECKING:
    from feast import FeatureStore

FEATURE_REPO = Path(__file__).resolve().parent / "feature_repo"
HISTORY_VIEW = "entity_history"  # the one feature view: each entity's trailing-window aggregates
ROW = "_event_position"  # carried through Feast's join, to put each event's features back in place


def import_feast() -> ModuleType:
    """Feast, imported without typeguard instrumenting its classes: every import of Feast goes through here.

    Feast decorates its definition classes (sources, views, fields) with typeguard's
    ``@typechecked``, which parses and recompiles their source as the module is
    imported: 3.4 s of CPU in every process that imports Feast (the pipeline, each
    service worker, each test process), against 0.15 s without it (measured here).
    typeguard itself makes the decorator a no-op under ``python -O``, for checks "not
    meant to run in production"; this does the same for Feast alone, during its import.
    The definitions are built here from validated settings and covered by the tests,
    so the run-time check of their argument types adds nothing.
    """
    if "feast" in sys.modules:
        return sys.modules["feast"]
    import typeguard

    checked = typeguard.typechecked
    typeguard.typechecked = _unchecked  # type: ignore[assignment]
    try:
        return importlib.import_module("feast")
    finally:
        typeguard.typechecked = checked


def _unchecked(target: Any = None, **_: Any) -> Callable[..., Any] | Any:
    """``@typechecked`` and ``@typechecked(...)`` as no-ops: the target comes back as it was."""
    return _unchecked if target is None else target


def history_table_path(settings: Settings) -> Path:
    return settings.features_dir / f"{HISTORY_VIEW}.parquet"


def repo_config(settings: Settings, environ: Mapping[str, str] | None = None) -> Any:
    """The profile's ``feature_store*.yaml`` with its ``${VARIABLES}`` filled in.

    The state folder comes from the settings; anything else (the team profile's
    registry URL and Redis connection, with their credentials) from the environment.
    """
    import_feast()
    from feast.repo_config import RepoConfig

    template = FEATURE_REPO / settings.features.store_config
    values = {**(os.environ if environ is None else environ), **tool_environment(settings)}
    try:
        filled = string.Template(template.read_text()).substitute(values)
    except FileNotFoundError:
        raise FileNotFoundError(f"features.store_config: {template} does not exist") from None
    except KeyError as missing:
        raise KeyError(f"{template.name} needs the environment variable {missing.args[0]}, which is not set") from None
    config = yaml.safe_load(filled)
    # The yaml names ${MLOPS_PROJECT} for the feast CLI; the SDK takes it from the settings.
    config["project"] = settings.project
    if settings.features.engine == "duckdb" and config.get("offline_store", {}).get("type") == "file":
        # The same parquet source, joined by Feast's DuckDB offline store: out of core.
        config["offline_store"] = {"type": "duckdb"}
    return RepoConfig(repo_path=FEATURE_REPO, **config)


def open_store(settings: Settings) -> FeatureStore:
    FeatureStore = import_feast().FeatureStore

    settings.feast_dir.mkdir(parents=True, exist_ok=True)
    return FeatureStore(config=repo_config(settings), repo_path=str(FEATURE_REPO))


def build_definitions(settings: Settings) -> list[Any]:
    """The project, the entity, the history source and view, and the versioned feature service."""
    import_feast()
    from feast import Entity, FeatureService, FeatureView, Field, FileSource, Project, ValueType
    from feast.types import Float64, Int64

    schema, features = settings.schema_, settings.features
    project = Project(name=settings.project, description=f"Features of {settings.mlflow.registered_model}")
    entity = Entity(
        name=schema.entity,
        join_keys=[schema.entity],
        value_type=ValueType.STRING,
        description="The contract's entity (schema.entity); events recur, so history accumulates per entity.",
    )
    source = FileSource(
        name=f"{HISTORY_VIEW}_source",
        path=str(history_table_path(settings)),
        timestamp_field=schema.timestamp,
        description="Engineered by features/engineering.py from data/raw; versioned by DVC.",
    )
    names = history_feature_names(features)
    history = FeatureView(
        name=HISTORY_VIEW,
        entities=[entity],
        ttl=timedelta(days=features.ttl_days),
        schema=[Field(name=names[0], dtype=Int64)] + [Field(name=n, dtype=Float64) for n in names[1:]],
        source=source,
        online=True,
        description=f"Each entity's events over the trailing {features.window_days} days.",
        tags={"window_days": str(features.window_days)},
    )
    service = FeatureService(
        name=features.service_name,
        features=[history],
        description="Everything the model reads from the store.",
        tags={
            "version": str(features.service_version),
            "request_features": ",".join(request_feature_names(features)),
        },
    )
    return [project, entity, source, history, service]


def apply_definitions(settings: Settings) -> FeatureStore:
    """Register the definitions (idempotent: an unchanged repo is a no-op)."""
    store = open_store(settings)
    store.apply(build_definitions(settings))
    return store


def materialize(store: FeatureStore, settings: Settings, end: dt.datetime) -> str:
    """Load the history table into the online store up to ``end``; says ``full`` or ``incremental``.

    The first time, an explicit range from the table's first row: the first
    ``materialize_incremental`` only covers ``now - ttl`` and silently skips older rows.
    After that, Feast's ``materialize_incremental``: only the rows since the last
    materialization's end, so each landed week costs its own rows, not the whole
    history again. Writing the same rows again leaves the online store as it was, so
    re-running is idempotent.
    """
    view = store.get_feature_view(HISTORY_VIEW)
    with contextlib.redirect_stdout(io.StringIO()):  # Feast prints coloured progress
        if view.materialization_intervals:
            store.materialize_incremental(end_date=end, feature_views=[HISTORY_VIEW])
            return "incremental"
        table = pd.read_parquet(history_table_path(settings), columns=[settings.schema_.timestamp])
        start = pd.Timestamp(table[settings.schema_.timestamp].min()).to_pydatetime() - timedelta(seconds=1)
        store.materialize(start_date=start, end_date=end, feature_views=[HISTORY_VIEW])
    return "full"


def training_frame(store: FeatureStore, settings: Settings, events: pd.DataFrame) -> pd.DataFrame:
    """Point-in-time join of the history features to ``events``, plus request features.

    ``events`` holds the entity, the event time, the label and the request fields; they
    pass through, one output row per event, in the same order. Each row gets the
    feature values known at its event time, no later; a customer with no earlier
    event gets missing values, as the online store answers for one.

    Only the keys go to Feast, with each event's position, and the features come back
    into place by it: the events are copied once, however large.
    """
    schema = settings.schema_
    stamps = pd.to_datetime(events[schema.timestamp], utc=True)
    keys = pd.DataFrame({schema.entity: events[schema.entity].to_numpy(), schema.timestamp: stamps.to_numpy()})
    keys[ROW] = np.arange(len(events))
    if keys.duplicated([schema.entity, schema.timestamp]).any():
        raise ValueError(f"events repeat ({schema.entity}, {schema.timestamp}) pairs; each event must be unique")
    service = store.get_feature_service(settings.features.service_name)
    joined = store.get_historical_features(entity_df=keys, features=service).to_df()
    del keys
    # Feast's stores return rows in their own order and may leave out events that no
    # feature row precedes: those keep missing values, as an unknown customer online.
    position = joined[ROW].to_numpy()
    features: dict[str, np.ndarray] = {}
    for name in history_feature_names(settings.features):
        values = np.full(len(events), np.nan)
        values[position] = joined[name].to_numpy(dtype="float64", na_value=np.nan)
        features[name] = values
    del joined
    finished = finished_columns(ChainMap(features, events), settings.features)  # type: ignore[arg-type]
    added: dict[str, Any] = {schema.timestamp: stamps, **features, **finished}
    return events.assign(**added)


class OnlineFeatures:
    """The serving path: stored features for each request's entity, plus request features.

    Built once per process (the feature service lookup costs more than the read) and
    called per request batch.
    """

    def __init__(self, settings: Settings, feature_store: FeatureStore | None = None) -> None:
        self.settings = settings
        self.store = feature_store or open_store(settings)
        self.service = self.store.get_feature_service(settings.features.service_name)
        self.names = history_feature_names(settings.features)

    def warm_up(self) -> None:
        """One read of an entity that is not stored: the first read's imports and connection (about 0.7 s)
        are paid here, when a server starts, not by its first request."""
        with contextlib.suppress(Exception):  # nothing served yet: the first request will say so
            self.store.get_online_features(
                features=self.service, entity_rows=[{self.settings.schema_.entity: "warm-up, not an entity"}]
            )

    def __call__(self, requests: pd.DataFrame) -> pd.DataFrame:
        entity = self.settings.schema_.entity
        stored = self.store.get_online_features(
            features=self.service, entity_rows=[{entity: e} for e in requests[entity]]
        ).to_dict()
        columns: dict[str, Any] = {name: requests[name].to_numpy() for name in requests.columns}
        # Feast answers None for a missing value; as floats, the model needs no cast later.
        columns.update({name: np.asarray(stored[name], dtype="float64") for name in self.names})
        columns.update(finished_columns(columns, self.settings.features))
        return pd.DataFrame(columns)


def online_features(feature_store: FeatureStore, settings: Settings, requests: pd.DataFrame) -> pd.DataFrame:
    """One-off read through ``OnlineFeatures``; a server should keep one ``OnlineFeatures``."""
    return OnlineFeatures(settings, feature_store)(requests)


def model_feature_columns(settings: Settings) -> FeatureColumns:
    """Everything the model consumes: request fields, stored history, request-time ratios."""
    features = settings.features
    engineered = [*history_feature_names(features), *request_feature_names(features)]
    return FeatureColumns.from_schema(settings.schema_, extra_numeric=engineered)
