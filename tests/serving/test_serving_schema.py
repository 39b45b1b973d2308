"""The request schema is built from the contract, refuses bad input by name, and fits both shipped data sets."""

import json
import math
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.settings import DEFAULT_PARAMS, PROJECT_ROOT, load_settings
from serving.schema import request_bodies, service_models

pytestmark = pytest.mark.unit

# The demo lender and every shipped example: the fast tier runs over each.
DATASETS = {"lender": DEFAULT_PARAMS, **{p.parent.name: p for p in sorted(PROJECT_ROOT.glob("examples/*/params.yaml"))}}

GOOD: dict[str, Any] = {
    "customer_id": "C000042",
    "age": 37.0,
    "annual_income": 52000.0,
    "years_employed": 6.5,
    "monthly_debt": 850.0,
    "loan_amount": 12000.0,
    "loan_term_months": 36.0,
    "credit_utilization": 0.31,
    "credit_history_years": 11.0,
    "num_open_accounts": 4.0,
    "num_late_payments_12m": 0.0,
    "num_credit_inquiries_6m": 1.0,
    "region": "north",
    "employment_type": "salaried",
    "home_ownership": "rent",
    "loan_purpose": "car",
}


def good_request(params: Path) -> dict[str, Any]:
    """A valid request for any contract: mid-range numbers, first categories, some entity."""
    schema = load_settings(params, environ={}).schema_
    body: dict[str, Any] = {schema.entity: "E-1"}
    body |= {c: (schema.numeric[c].min + schema.numeric[c].max) / 2 for c in schema.numeric_features}
    body |= {c: schema.categorical[c][0] for c in schema.categorical_features}
    return body


def test_a_good_application_parses() -> None:
    request = service_models(load_settings().schema_).request
    assert request.model_validate(GOOD).customer_id == "C000042"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"age": math.nan}, "age"),
        ({"annual_income": math.inf}, "annual_income"),
        ({"credit_utilization": 1.5}, "credit_utilization"),
        ({"region": "atlantis"}, "region"),
        ({"loan_amount": "lots"}, "loan_amount"),
        ({"loan_amount": True}, "loan_amount"),  # strict: a boolean is not a number
        ({"surprise": 1}, "surprise"),
        ({"customer_id": "robert'); DROP TABLE"}, "customer_id"),
        ({"event_timestamp": 0}, "event_timestamp"),  # a number is no date-time (lax mode read it as 1970)
        ({"event_timestamp": False}, "event_timestamp"),
    ],
)
def test_bad_values_are_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    request = service_models(load_settings().schema_).request
    with pytest.raises(ValidationError) as refused:
        request.model_validate_json(json.dumps({**GOOD, **change}))
    assert field in str(refused.value)


def test_a_missing_field_is_named() -> None:
    request = service_models(load_settings().schema_).request
    with pytest.raises(ValidationError, match="loan_purpose"):
        request.model_validate({k: v for k, v in GOOD.items() if k != "loan_purpose"})


@pytest.mark.parametrize("params", DATASETS.values(), ids=DATASETS.keys())
def test_the_request_and_answer_follow_the_data_contract(params: Path) -> None:
    """Bounds, optionality and categories are the contract's, for every shipped data set."""
    schema = load_settings(params, environ={}).schema_
    models = service_models(schema)
    fields = models.request.model_fields
    assert set(fields) == {"request_id", schema.entity, schema.timestamp, *schema.feature_columns}
    assert not fields[schema.timestamp].is_required()  # the event's time is optional: the service takes now
    documented = models.request.model_json_schema()["properties"]  # what the OpenAPI document shows
    for name in schema.numeric_features:
        spec, shown = schema.numeric[name], documented[name]
        number = next(option for option in shown.get("anyOf", [shown]) if option.get("type") == "number")
        assert (number["minimum"], number["maximum"]) == (spec.min, spec.max), name
        assert fields[name].is_required() == (spec.max_null_share == 0), name
    for name in schema.categorical_features:
        assert set(typing.get_args(fields[name].annotation)) == set(schema.categorical[name]), name
    answer = models.decision.model_json_schema()["properties"]
    assert schema.entity in answer and "probability" in answer
    assert set(answer["decision"]["enum"]) == {schema.decisions.positive, schema.decisions.negative}
    assert models.request.model_validate(good_request(params))


@pytest.mark.parametrize("params", DATASETS.values(), ids=DATASETS.keys())
def test_request_bodies_from_data_are_valid_requests(params: Path) -> None:
    import pandas as pd

    settings = load_settings(params, environ={})
    schema, models = settings.schema_, service_models(settings.schema_)
    row = {**good_request(params), schema.label: 1, "unrelated_column": "dropped"}
    frame = pd.DataFrame([row, {**row, schema.entity: 42}])  # an integer entity becomes text
    bodies = request_bodies(frame, schema)
    assert [models.request.model_validate(b).model_dump()[schema.entity] for b in bodies] == ["E-1", "42"]
