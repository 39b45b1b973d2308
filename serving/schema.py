"""One request and response schema, shared by the service, the traffic simulator and the tests.

A request is a loan application: who applies (``customer_id``, whose history the
feature store holds) and what the form says. The bounds mirror ``schema`` in
params.yaml; ``tests/unit/test_serving_schema.py`` keeps the two in step, so
bringing your own data means editing both (the test tells you where they differ).
Anything unexpected is refused with a 4xx that names the field: extra fields, wrong
types, NaN or infinite numbers, values out of range.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Number = Annotated[float, Field(allow_inf_nan=False)]


class LoanApplication(BaseModel):
    """What a client sends to ``/predict``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    request_id: Annotated[str | None, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] = None
    customer_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    age: Annotated[Number, Field(ge=18, le=100)]
    annual_income: Annotated[Number, Field(ge=0, le=2_000_000)]
    years_employed: Annotated[Number | None, Field(ge=0, le=60)] = None
    monthly_debt: Annotated[Number, Field(ge=0, le=100_000)]
    loan_amount: Annotated[Number, Field(ge=500, le=500_000)]
    loan_term_months: Annotated[Number, Field(ge=6, le=120)]
    credit_utilization: Annotated[Number, Field(ge=0, le=1.0)]
    credit_history_years: Annotated[Number | None, Field(ge=0, le=80)] = None
    num_open_accounts: Annotated[Number, Field(ge=0, le=60)]
    num_late_payments_12m: Annotated[Number, Field(ge=0, le=52)]
    num_credit_inquiries_6m: Annotated[Number, Field(ge=0, le=50)]
    region: Literal["north", "south", "east", "west", "central"]
    employment_type: Literal["salaried", "self_employed", "contract", "unemployed", "retired"]
    home_ownership: Literal["rent", "mortgage", "own"]
    loan_purpose: Literal["debt_consolidation", "home_improvement", "car", "education", "business", "medical"]


Variant = Literal["champion", "challenger"]


class CreditDecision(BaseModel):
    """What ``/predict`` answers; the model version and variant also travel as headers."""

    request_id: str
    customer_id: str
    probability_of_default: float
    decision: Literal["approve", "decline"]
    threshold: float
    model_version: str
    variant: Variant
