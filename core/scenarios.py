"""Drift scenarios for any data contract: transformations of real rows (your own file's held-back weeks).

The synthetic lender generates its scenarios from its own world (``core/synthetic.py``).
A user's file cannot be regenerated, so its scenarios transform the rows it has, using
only what the contract says about them:

* ``covariate_shift``: the inputs move. Numeric feature columns shift up by half a
  standard deviation (times ``strength``), kept inside the contract's range and rounded
  where the column holds whole numbers; for each categorical feature column a share of
  rows moves to its least frequent category (the mix changes). The labels stay the real
  rows' labels: the world did not change, what the model is shown did.
* ``concept_drift``: the inputs look as before, but the label relationship breaks:
  the labels of a share of rows are shuffled among them (the label rate is kept), so
  the model's ranking gets worse while no input drifts.
* ``quality_incident``: an upstream system breaks the batch: the first numeric feature
  goes missing in a third of the rows, the second arrives a hundred times too large in
  a tenth, and the first categorical feature gets an unmapped code.

``columns`` narrows what ``covariate_shift`` touches (``monitoring.simulation.columns``);
empty means every feature column. Each transformation is seeded, so the same week under
the same scenario always comes out the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.contract import Schema

SCENARIOS = ("none", "covariate_shift", "concept_drift", "quality_incident")
UNMAPPED = "unmapped"


def shifted_columns(schema: Schema, scenario: str, columns: Sequence[str] = ()) -> list[str]:
    """The contract's columns a scenario visibly changes (concept drift changes the labels only)."""
    if scenario == "covariate_shift":
        chosen = list(columns) or schema.feature_columns
        return [c for c in schema.feature_columns if c in chosen]
    if scenario == "quality_incident":
        numeric, categorical = schema.numeric_features, schema.categorical_features
        return [*numeric[:2], *categorical[:1]]
    return []


def transform(
    frame: pd.DataFrame,
    schema: Schema,
    scenario: str,
    *,
    strength: float = 1.0,
    seed: int = 0,
    columns: Sequence[str] = (),
) -> pd.DataFrame:
    """``frame`` as it looks under ``scenario``; a new frame, the input is left as it was."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    out = frame.copy()
    if scenario == "none" or out.empty:
        return out
    rng = np.random.default_rng([seed, SCENARIOS.index(scenario)])
    if scenario == "covariate_shift":
        _shift(out, schema, shifted_columns(schema, scenario, columns), strength, rng)
    elif scenario == "concept_drift":
        _break_labels(out, schema, strength, rng)
    else:
        _corrupt(out, schema, strength, rng)
    return out


def _shift(frame: pd.DataFrame, schema: Schema, columns: list[str], strength: float, rng: np.random.Generator) -> None:
    for column in columns:
        if column in schema.numeric:
            spec = schema.numeric[column]
            values = frame[column].astype("float64")
            whole = bool(np.all(np.isclose(values.dropna() % 1, 0)))
            shifted = (values + 0.5 * strength * float(values.std(ddof=0) or 0.0)).clip(spec.min, spec.max)
            frame[column] = shifted.round() if whole else shifted
        else:
            present = frame[column].value_counts()
            allowed = [c for c in schema.categorical[column] if c in present.index] or list(schema.categorical[column])
            rarest = min(allowed, key=lambda c: present.get(c, 0))
            moved = rng.random(len(frame)) < min(0.3 * strength, 0.9)
            frame.loc[moved & frame[column].notna().to_numpy(), column] = rarest


def _break_labels(frame: pd.DataFrame, schema: Schema, strength: float, rng: np.random.Generator) -> None:
    chosen = np.flatnonzero(rng.random(len(frame)) < min(0.5 * strength, 1.0))
    labels = frame[schema.label].to_numpy().copy()
    labels[chosen] = labels[rng.permutation(chosen)]
    frame[schema.label] = labels


def _corrupt(frame: pd.DataFrame, schema: Schema, strength: float, rng: np.random.Generator) -> None:
    numeric, categorical, n = schema.numeric_features, schema.categorical_features, len(frame)
    if numeric:
        frame[numeric[0]] = frame[numeric[0]].astype("float64")
        frame.loc[rng.random(n) < min(0.3 * strength, 0.9), numeric[0]] = np.nan
    if len(numeric) > 1:
        frame[numeric[1]] = frame[numeric[1]].astype("float64")
        broken = rng.random(n) < min(0.1 * strength, 0.9)
        frame.loc[broken, numeric[1]] = frame.loc[broken, numeric[1]] * 100 + schema.numeric[numeric[1]].max
    if categorical:
        frame.loc[rng.random(n) < min(0.08 * strength, 0.9), categorical[0]] = UNMAPPED
