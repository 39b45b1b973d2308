"""The request schema refuses bad input by name and stays in step with params.yaml."""

import math
import typing
from typing import Any

import pytest
from pydantic import ValidationError

from core.settings import load_settings
from serving.schema import LoanApplication

pytestmark = pytest.mark.unit

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


def test_a_good_application_parses() -> None:
    assert LoanApplication.model_validate(GOOD).customer_id == "C000042"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"age": math.nan}, "age"),
        ({"annual_income": math.inf}, "annual_income"),
        ({"credit_utilization": 1.5}, "credit_utilization"),
        ({"region": "atlantis"}, "region"),
        ({"loan_amount": "lots"}, "loan_amount"),
        ({"surprise": 1}, "surprise"),
        ({"customer_id": "robert'); DROP TABLE"}, "customer_id"),
    ],
)
def test_bad_values_are_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        LoanApplication.model_validate({**GOOD, **change})
    assert field in str(refused.value)


def test_a_missing_field_is_named() -> None:
    with pytest.raises(ValidationError, match="loan_purpose"):
        LoanApplication.model_validate({k: v for k, v in GOOD.items() if k != "loan_purpose"})


def test_the_request_schema_matches_the_data_contract() -> None:
    """Bounds and categories here and in params.yaml must agree, or serving would refuse
    (or accept) what training never saw."""
    schema = load_settings().schema_
    fields = LoanApplication.model_fields
    assert set(schema.feature_columns) | {schema.entity} <= set(fields)
    for name, spec in schema.numeric.items():
        if name not in schema.feature_columns:
            continue
        bounds = {type(m).__name__: m for m in fields[name].metadata}
        assert bounds["Ge"].ge == spec.min and bounds["Le"].le == spec.max, name
        optional = type(None) in typing.get_args(fields[name].annotation)
        assert optional == (spec.max_null_share > 0.02), name
    for name, allowed in schema.categorical.items():
        assert set(typing.get_args(fields[name].annotation)) == set(allowed), name
