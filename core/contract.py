"""The data contract: which columns the data has, what each may hold, and which the model reads.

``schema`` in params.yaml is parsed into ``Schema``. Everything that depends on the
shape of the user's data is derived from it: the validation suites, the feature
columns, the service's request model, the drift reports' column mapping, the model
card's data section. No column name of the demo lender is written anywhere else.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    """The base of every configuration model: unknown keys are refused and values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NumericColumn(Strict):
    min: float
    max: float
    max_null_share: float = Field(0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> NumericColumn:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class DuplicateEvents(Strict):
    """Two rows of one entity at one timestamp (one customer, two applications in the same second).

    ``refuse``: the raw-batch suite fails the batch at ingest, naming the rows, and it is
    quarantined before any feature is computed. ``keep``: both rows are kept; tied rows
    are put in order by ``tie_breaker`` (null: the record id) and each later one is
    moved a microsecond past the one before, so each stays its own event.
    """

    action: Literal["refuse", "keep"] = "refuse"
    tie_breaker: str | None = None


class Schema(Strict):
    """The data contract: the validation suite is derived from it, and so are the features."""

    entity: str
    timestamp: str
    label: str
    record_id: str | None = None
    sensitive: tuple[str, ...] = ()
    numeric: dict[str, NumericColumn]
    categorical: dict[str, tuple[str, ...]]
    duplicate_events: DuplicateEvents = DuplicateEvents()

    @property
    def feature_columns(self) -> list[str]:
        """Model inputs: every described column except keys, label and sensitive ones."""
        excluded = {self.entity, self.timestamp, self.label, self.record_id, *self.sensitive}
        return [c for c in [*self.numeric, *self.categorical] if c not in excluded]

    @property
    def required_columns(self) -> list[str]:
        keys = [self.entity, self.timestamp, self.label]
        if self.record_id:
            keys.append(self.record_id)
        return [*keys, *self.sensitive, *self.numeric, *self.categorical]

    @model_validator(mode="after")
    def _distinct(self) -> Schema:
        overlap = set(self.numeric) & set(self.categorical)
        if overlap:
            raise ValueError(f"columns both numeric and categorical: {sorted(overlap)}")
        if not self.feature_columns:
            raise ValueError("no feature columns left after removing keys, label and sensitive")
        return self

    @property
    def tie_breaker(self) -> str | None:
        """The column that orders rows of one entity at one timestamp (``duplicate_events``)."""
        return self.duplicate_events.tie_breaker or self.record_id

    @model_validator(mode="after")
    def _ties_can_be_broken(self) -> Schema:
        if self.duplicate_events.action == "keep" and self.tie_breaker not in self.required_columns:
            raise ValueError(
                "duplicate_events.action is 'keep' but no tie_breaker orders the tied rows: "
                "set duplicate_events.tie_breaker to a described column, or schema.record_id"
            )
        return self
