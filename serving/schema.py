"""The request and response models of the service, built from the data contract (``schema:`` in params.yaml).

One set of models per contract, shared by the service (and so its OpenAPI document),
the traffic simulator and the tests. A request carries the entity (whose history the
feature store holds) and every feature column of the contract: numbers within the
contract's range (optional, null allowed, when the contract allows missing values),
categories from its list, and optionally the event's time (the contract's timestamp).
Anything unexpected is refused with a 4xx that names the field: extra fields, wrong
types (strict: no strings or booleans for numbers), NaN or infinite numbers, values out
of range, unknown categories.

An answer carries the entity under the contract's own name, the probability that the
label is 1, the decision (``schema.decisions``: positive at or above the threshold),
the threshold, and which model version and variant answered.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from core.contract import Schema

if TYPE_CHECKING:
    import pandas as pd

Variant = Literal["champion", "challenger"]
ENTITY_PATTERN = r"^[A-Za-z0-9_.:@-]+$"
REQUEST_ID = Annotated[str | None, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _date_time_text(value: Any) -> Any:
    """Only text is a time here: lax pydantic reads a number (or a boolean) as seconds since 1970,
    where the OpenAPI document promises a date-time string (the fuzzing tier found it)."""
    if value is not None and not isinstance(value, str | dt.datetime):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


EVENT_TIME = Annotated[dt.datetime | None, BeforeValidator(_date_time_text)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class FeatureContribution(BaseModel):
    """How much one input moved this request's score, in log-odds, from the baseline."""

    feature: str
    value: float | str | None
    contribution: float


@dataclass(frozen=True)
class ServiceModels:
    """The models one contract gives the service: the request, the answer and the explanation."""

    request: type[BaseModel]
    decision: type[BaseModel]
    explanation: type[BaseModel]
    entity: str

    @property
    def required(self) -> list[str]:
        return [name for name, info in self.request.model_fields.items() if info.is_required()]


def _number(low: float, high: float, optional: bool) -> Any:
    bounded = Annotated[float, Field(ge=low, le=high, strict=True, allow_inf_nan=False)]
    return (bounded | None, None) if optional else (bounded, ...)


def _request_fields(schema: Schema) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "request_id": (REQUEST_ID, None),
        schema.entity: (Annotated[str, Field(min_length=1, max_length=64, pattern=ENTITY_PATTERN)], ...),
        # When the event happened (optional; the service takes the time it arrives): the
        # entity's history row for it is stamped from this time (features/freshness.py).
        schema.timestamp: (EVENT_TIME, None),
    }
    for name in schema.numeric_features:
        spec = schema.numeric[name]
        fields[name] = _number(spec.min, spec.max, spec.max_null_share > 0)
    for name in schema.categorical_features:
        fields[name] = (Literal[tuple(schema.categorical[name])], ...)
    return fields


@functools.cache
def _models(contract_json: str) -> ServiceModels:
    schema = Schema.model_validate_json(contract_json)
    decision_words: Any = Literal[tuple([schema.decisions.positive, schema.decisions.negative])]
    request = create_model(
        "ScoringRequest",
        __base__=_Request,
        __doc__=f"What a client sends to /predict: the entity ({schema.entity}) and the contract's feature columns.",
        **_request_fields(schema),
    )
    decision = create_model(  # type: ignore[call-overload]
        "ScoringDecision",
        __doc__="What /predict answers; the model version and variant also travel as headers.",
        request_id=(str, ...),
        **{schema.entity: (str, ...)},
        probability=(float, Field(description=f"probability that {schema.label} is 1")),
        decision=(decision_words, ...),
        threshold=(float, ...),
        model_version=(str, ...),
        variant=(Variant, ...),
    )
    explanation = create_model(  # type: ignore[call-overload]
        "ScoringExplanation",
        __doc__=(
            "What /explain answers: the model that would decide this request, and why. base_value + the "
            "listed contributions + rest (the inputs not listed) is the model's log-odds, so probability = "
            "sigmoid of that sum."
        ),
        request_id=(str, ...),
        **{schema.entity: (str, ...)},
        model_version=(str, ...),
        variant=(Variant, ...),
        probability=(float, ...),
        method=(str, ...),
        base_value=(float, ...),
        top_features=(list[FeatureContribution], ...),
        rest=(float, ...),
    )
    return ServiceModels(request, decision, explanation, schema.entity)


def service_models(schema: Schema) -> ServiceModels:
    """The request, decision and explanation models of ``schema`` (built once per contract)."""
    return _models(schema.model_dump_json())


def request_bodies(
    frame: pd.DataFrame, schema: Schema, limit: int | None = None, one_per_entity: bool = False
) -> list[dict[str, Any]]:
    """Rows of data as request bodies: what the simulator, the demos and the tests send.

    Rows the API would refuse for a missing required field are left out. ``request_id``
    passes through when the frame has one.
    """
    import pandas as pd

    models = service_models(schema)
    fields = [f for f in models.request.model_fields if f in frame]
    rows = frame.dropna(subset=[f for f in models.required if f in frame])
    if one_per_entity:
        rows = rows.drop_duplicates(schema.entity)
    records = rows.head(limit if limit is not None else len(rows))[fields].to_dict("records")
    bodies = []
    for record in records:
        body = {str(k): (None if pd.isna(v) else v) for k, v in record.items()}
        body[schema.entity] = str(body[schema.entity])
        stamp = body.get(schema.timestamp)
        if stamp is not None:
            body[schema.timestamp] = pd.Timestamp(stamp).isoformat()
        for name in schema.numeric_features:
            value = body.get(name)
            if value is not None:
                body[name] = float(value)
        bodies.append(body)
    return bodies
