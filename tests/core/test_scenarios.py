"""The drift scenarios for any contract (core/scenarios.py), on both shipped data sets' contracts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import scenarios
from core.contract import Schema
from core.settings import load_settings
from tests.serving.test_serving_schema import DATASETS

pytestmark = pytest.mark.unit


def sample(schema: Schema, rows: int = 2000, seed: int = 1) -> pd.DataFrame:
    """Rows that meet ``schema``: numbers inside their ranges, categories from their lists, a 0/1 label."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({schema.entity: [f"E{i % 300}" for i in range(rows)]})
    for name, spec in schema.numeric.items():
        frame[name] = rng.uniform(spec.min, spec.min + (spec.max - spec.min) * 0.6, rows).round(1)
    for name, values in schema.categorical.items():
        frame[name] = rng.choice(values, rows)
    frame[schema.label] = (rng.random(rows) < 0.2).astype("int64")
    return frame


@pytest.fixture(params=list(DATASETS.values()), ids=list(DATASETS))
def schema(request: pytest.FixtureRequest) -> Schema:
    params: Path = request.param
    return load_settings(params, environ={}).schema_


def test_no_scenario_changes_nothing_and_the_input_is_left_alone(schema: Schema) -> None:
    frame = sample(schema)
    before = frame.copy()
    pd.testing.assert_frame_equal(scenarios.transform(frame, schema, "none"), before)
    scenarios.transform(frame, schema, "covariate_shift")
    pd.testing.assert_frame_equal(frame, before)


def test_covariate_shift_moves_the_inputs_inside_the_contract_and_keeps_the_labels(schema: Schema) -> None:
    frame = sample(schema)
    shifted = scenarios.transform(frame, schema, "covariate_shift", seed=3)
    for name in schema.numeric_features:
        spec = schema.numeric[name]
        assert shifted[name].mean() > frame[name].mean(), name
        assert shifted[name].between(spec.min, spec.max).all(), name
    for name in schema.categorical_features:
        assert shifted[name].isin(schema.categorical[name]).all()
        assert not shifted[name].value_counts(normalize=True).equals(frame[name].value_counts(normalize=True))
    assert shifted[schema.label].equals(frame[schema.label])
    assert scenarios.transform(frame, schema, "covariate_shift", seed=3).equals(shifted)  # seeded


def test_covariate_shift_touches_only_the_chosen_columns(schema: Schema) -> None:
    frame = sample(schema)
    chosen = schema.numeric_features[:1]
    shifted = scenarios.transform(frame, schema, "covariate_shift", columns=chosen)
    changed = [c for c in frame.columns if not shifted[c].equals(frame[c])]
    assert changed == chosen == scenarios.shifted_columns(schema, "covariate_shift", chosen)


def test_concept_drift_breaks_the_labels_only(schema: Schema) -> None:
    frame = sample(schema)
    drifted = scenarios.transform(frame, schema, "concept_drift", seed=5)
    inputs = [c for c in frame.columns if c != schema.label]
    pd.testing.assert_frame_equal(drifted[inputs], frame[inputs])
    assert drifted[schema.label].sum() == frame[schema.label].sum()  # the label rate is kept
    assert (drifted[schema.label] != frame[schema.label]).mean() > 0.1


def test_a_quality_incident_breaks_the_contract(schema: Schema) -> None:
    frame = sample(schema)
    broken = scenarios.transform(frame, schema, "quality_incident", seed=7)
    first, second = schema.numeric_features[:2]
    assert broken[first].isna().mean() > schema.numeric[first].max_null_share
    assert (broken[second] > schema.numeric[second].max).any()
    categorical = schema.categorical_features[0]
    assert not broken[categorical].isin(schema.categorical[categorical]).all()
    assert set(scenarios.shifted_columns(schema, "quality_incident")) == {first, second, categorical}


def test_an_unknown_scenario_is_named() -> None:
    schema = load_settings(environ={}).schema_
    with pytest.raises(ValueError, match="meteor"):
        scenarios.transform(sample(schema, 10), schema, "meteor")
