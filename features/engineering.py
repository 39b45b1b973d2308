"""Automated feature engineering: raw batches in, feature tables out. Never by hand.

Two kinds of feature, each defined once:

* **History features** (stored in Feast, served online): per-entity aggregates over
  a trailing window of past events, such as how many and how large. A row is
  written for every event, holding the window *including* it, and stamped one
  second after it: the moment it is known. Feast's point-in-time join takes the latest
  row at or before a training example's event time, so an event never sees
  itself or anything later, and sees exactly what the online store holds when the
  next event arrives.
* **Request-time features**: ratios of fields that arrive with the request
  (``features.ratios``). ``complete_features`` computes them, on the training path
  after the historical join and on the serving path after the online lookup: one
  function, so the two cannot disagree.

Which aggregates and ratios exist is configured under ``features`` in params.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.contract import Schema
from core.sections import FeatureSettings


@dataclass(frozen=True)
class FeatureColumns:
    """The model's inputs by kind: numbers are imputed and scaled, categories one-hot encoded."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @classmethod
    def from_signature(cls, model_uri: str) -> FeatureColumns:
        """The columns a logged MLflow model reads, by kind, from its signature."""
        import mlflow

        inputs = mlflow.models.get_model_info(model_uri).signature.inputs.inputs
        kinds = {column.name: column.type.name for column in inputs}
        numeric = tuple(name for name, kind in kinds.items() if kind in {"double", "float", "long", "integer"})
        categorical = tuple(name for name, kind in kinds.items() if kind == "string")
        if len(numeric) + len(categorical) != len(kinds):
            raise ValueError(f"{model_uri}: unexpected input types in its signature: {kinds}")
        return cls(numeric, categorical)

    @classmethod
    def from_schema(cls, schema: Schema, extra_numeric: Sequence[str] = ()) -> FeatureColumns:
        """The described request fields (no keys, label or sensitive columns), plus engineered numbers."""
        features = set(schema.feature_columns)
        numeric = [c for c in schema.numeric if c in features]
        categorical = [c for c in schema.categorical if c in features]
        return cls((*numeric, *extra_numeric), tuple(categorical))


def features_of(frame: pd.DataFrame, columns: FeatureColumns) -> pd.DataFrame:
    """The model's input columns, in a stable order, numbers as floats.

    Floats throughout mean a missing value in a count column at serving time (which
    arrives as NaN) still meets the model's signature.
    """
    selected = frame[columns.all]
    # Cast only what needs it: astype() copies every column it is given, which costs
    # milliseconds per request on the serving path, where the numbers are floats already.
    casts = {c: "float64" for c in columns.numeric if selected[c].dtype != "float64"}
    return selected.astype(casts) if casts else selected


# When a history row becomes known, after the application it includes.
AVAILABILITY_LAG = pd.Timedelta(seconds=1)


def history_feature_names(features: FeatureSettings) -> list[str]:
    return features.history_names


def entity_history(raw: pd.DataFrame, schema: Schema, features: FeatureSettings) -> pd.DataFrame:
    """One row per event: the entity's trailing-window aggregates as of just after it."""
    entity, timestamp = schema.entity, schema.timestamp
    missing = [c for c in features.history if c not in raw]
    if missing:
        raise KeyError(f"features.history names columns the raw data lacks: {missing}")
    ordered = raw.sort_values([entity, timestamp], kind="stable")
    ordered = ordered.assign(**{timestamp: pd.to_datetime(ordered[timestamp], utc=True)})
    window = f"{features.window_days}D"
    rolling = ordered.groupby(entity, sort=False).rolling(window, on=timestamp)
    suffix = f"{features.window_days}d"

    table = pd.DataFrame(
        {
            entity: ordered[entity].to_numpy(),
            timestamp: (ordered[timestamp] + AVAILABILITY_LAG).to_numpy(),
            features.history_names[0]: rolling[timestamp].count().to_numpy().astype("int64"),
        }
    )
    # groupby().rolling() returns rows grouped by entity in the order of `ordered`.
    for column, aggregations in features.history.items():
        for how in aggregations:
            values = getattr(rolling[column], how)().to_numpy()
            table[f"{column}_{how}_{suffix}"] = values.astype("float64")
    return table.sort_values(timestamp, kind="stable").reset_index(drop=True)


def latest_history_values(
    entity: str, stamps: Sequence[pd.Timestamp], values: np.ndarray, schema: Schema, features: FeatureSettings
) -> dict[str, Any]:
    """``entity_history``'s row for one entity's latest event, from its events alone: the serving path's.

    ``stamps`` are the entity's event times (UTC), ``values`` their ``features.history``
    columns (one row per event, in that order). The same window, ``(latest - window_days,
    latest]``, and the same aggregates as ``entity_history``, which missing values skip;
    numpy on a few rows instead of a grouped rolling window. Plain values, column by
    column: the fresh-row writer makes one frame of many rows (a frame per row cost more
    than the arithmetic). ``tests/features/test_engineering.py`` holds the two to the same rows.
    """
    nanos = np.fromiter((pd.Timestamp(stamp).value for stamp in stamps), dtype="int64", count=len(stamps))
    latest = int(nanos.max())
    inside = nanos > latest - pd.Timedelta(days=features.window_days).value
    window = np.asarray(values, dtype="float64").reshape(len(nanos), -1)[inside]
    suffix = f"{features.window_days}d"
    row: dict[str, Any] = {
        schema.entity: entity,
        schema.timestamp: pd.Timestamp(latest, tz="UTC") + AVAILABILITY_LAG,
        features.history_names[0]: int(inside.sum()),
    }
    for index, (column, aggregations) in enumerate(features.history.items()):
        present = window[:, index][~np.isnan(window[:, index])]
        for how in aggregations:
            row[f"{column}_{how}_{suffix}"] = float(getattr(np, how)(present)) if len(present) else np.nan
    return row


def join_history(events: pd.DataFrame, table: pd.DataFrame, schema: Schema, features: FeatureSettings) -> pd.DataFrame:
    """The point-in-time join without a feature store (maturity Level 2), plus request features.

    The same rule as Feast's: each event gets its customer's latest history row stamped
    at or before the event, and no older than ``ttl_days``; events keep their order.
    """
    entity, timestamp = schema.entity, schema.timestamp
    names = history_feature_names(features)
    left = events.assign(**{timestamp: pd.to_datetime(events[timestamp], utc=True)})
    left = left.reset_index(drop=True).rename_axis("_order").reset_index()
    right = table[[entity, timestamp, *names]].assign(**{timestamp: pd.to_datetime(table[timestamp], utc=True)})
    joined = pd.merge_asof(
        left.sort_values(timestamp, kind="stable"),
        right.sort_values(timestamp, kind="stable"),
        on=timestamp,
        by=entity,
        direction="backward",
        tolerance=pd.Timedelta(days=features.ttl_days),
    )
    joined = joined.sort_values("_order").drop(columns="_order").reset_index(drop=True)
    return complete_features(joined, features)


def request_feature_names(features: FeatureSettings) -> list[str]:
    return list(features.ratios)


def finished_columns(columns: Mapping[str, Any] | pd.DataFrame, features: FeatureSettings) -> dict[str, np.ndarray]:
    """The columns both read paths add or replace after the store lookup: defined once.

    An entity without history gets zero events and zero sums (not unknown); the
    request-time ratios follow, NaN where a denominator is zero or missing. ``columns``
    is a data frame or any mapping of column name to values, so serving can call it
    on a single request without building a frame first.
    """
    window = f"{features.window_days}d"
    counts = [features.history_names[0]]
    counts += [f"{c}_sum_{window}" for c, how in features.history.items() if "sum" in how]
    finished = {}
    for name in counts:
        values = _floats(columns[name])
        finished[name] = np.where(np.isnan(values), 0.0, values)
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, ratio in features.ratios.items():
            denominator = _floats(columns[ratio.denominator])
            ratio_values = _floats(columns[ratio.numerator]) * ratio.scale / denominator
            finished[name] = np.where(np.isfinite(ratio_values) & (denominator != 0), ratio_values, np.nan)
    return finished


def complete_features(frame: pd.DataFrame, features: FeatureSettings) -> pd.DataFrame:
    """``frame`` with the finished columns: what the training path does after its join."""
    return frame.assign(**finished_columns(frame, features))


def _floats(values: Any) -> np.ndarray:
    """Numbers as float64; a missing value (None from Feast, NaN or NA) as NaN."""
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    return np.asarray(values, dtype="float64")
