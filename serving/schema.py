"""One request and response schema, shared by the service, the traffic simulator and the tests.

A request is a loan application: who applies (``customer_id``, whose history the
feature store holds) and what the form says. The bounds mirror ``schema`` in
params.yaml; ``tests/unit/test_serving_schema.py`` keeps the two in step, so
bringing your own data means editing both (the test tells you where they differ).
Anything unexpected is refused with a 4xx that names the field: extra fields, wrong
types, NaN or infinite numbers, values out of range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import pandas as pd

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


class FeatureContribution(BaseModel):
    """How much one input moved this applicant's risk, in log-odds of default, from the baseline."""

    feature: str
    value: float | str | None
    contribution: float


class Explanation(BaseModel):
    """What ``/explain`` answers: the model that would decide this application, and why.

    ``base_value`` + the contributions listed + ``rest`` (the inputs not listed) is the
    model's log-odds of default, so ``probability_of_default`` = sigmoid of that sum.
    """

    request_id: str
    customer_id: str
    model_version: str
    variant: Variant
    probability_of_default: float
    method: str
    base_value: float
    top_features: list[FeatureContribution]
    rest: float


def applications_from(frame: pd.DataFrame, limit: int, one_per_customer: bool = True) -> list[dict[str, Any]]:
    """Rows of application data as request bodies: what the simulator, demo and tests send.

    Rows the API would refuse for a missing required field are left out (the data has
    a few applications without an income; the API requires one).
    """
    import pandas as pd

    fields = [f for f in LoanApplication.model_fields if f in frame]
    required = [f for f, info in LoanApplication.model_fields.items() if info.is_required()]
    rows = frame.dropna(subset=required)
    if one_per_customer:
        rows = rows.drop_duplicates("customer_id")
    records = rows.head(limit)[fields].to_dict("records")
    return [{str(k): (None if pd.isna(v) else v) for k, v in record.items()} for record in records]
