"""The data contract: which columns the data has, what each may hold, and which the model reads.

``schema`` in params.yaml is parsed into ``Schema``. Everything that depends on the
shape of the user's data is derived from it: the validation suites, the feature
columns, the service's request and response models (``serving/schema.py``, and so the
OpenAPI document), the drift reports' column mapping, the model card's data section,
the traffic simulator's request bodies and the generic drift scenarios
(``core/scenarios.py``). No column name of the demo lender is written anywhere else
(``tests/core/test_no_demo_columns.py`` holds it so).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Names the service's answer uses for itself: a column may not take one of them, or the
# answer's entity field would collide with them.
RESERVED = frozenset({"request_id", "probability", "decision", "threshold", "model_version", "variant", "logged_at"})


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


class Decisions(Strict):
    """What the service says for a probability at or above the decision threshold, and below it."""

    positive: str = Field("positive", min_length=1, max_length=40)
    negative: str = Field("negative", min_length=1, max_length=40)

    @model_validator(mode="after")
    def _different(self) -> Decisions:
        if self.positive == self.negative:
            raise ValueError(f"positive and negative are both {self.positive!r}")
        return self


class Schema(Strict):
    """The data contract: the validation suite is derived from it, and so are the features."""

    entity: str
    timestamp: str
    label: str
    record_id: str | None = None
    # The file's value that means 1 when its label is not already 0/1 (e.g. "yes"); ingest maps it.
    positive_label: str | int | bool | None = None
    sensitive: tuple[str, ...] = ()
    # A sensitive attribute that is a number is judged in bands: these edges, or quantile
    # bands (sensitive_quantiles of them) when it has none here.
    sensitive_bands: dict[str, tuple[float, ...]] = Field(default_factory=dict)
    sensitive_quantiles: int = Field(4, ge=2, le=20)
    # Groups with fewer holdout rows than this are reported but not judged for fairness.
    min_group_rows: int = Field(30, ge=1)
    decisions: Decisions = Decisions()
    numeric: dict[str, NumericColumn]
    categorical: dict[str, tuple[str, ...]]
    duplicate_events: DuplicateEvents = DuplicateEvents()

    @property
    def key_columns(self) -> list[str]:
        """Entity, time stamp, label and record id: columns that are never features."""
        return [c for c in (self.entity, self.timestamp, self.label, self.record_id) if c]

    @property
    def feature_columns(self) -> list[str]:
        """Model inputs: every described column except keys, label and sensitive ones."""
        excluded = {*self.key_columns, *self.sensitive}
        return [c for c in [*self.numeric, *self.categorical] if c not in excluded]

    @property
    def numeric_features(self) -> list[str]:
        return [c for c in self.feature_columns if c in self.numeric]

    @property
    def categorical_features(self) -> list[str]:
        return [c for c in self.feature_columns if c in self.categorical]

    @property
    def required_columns(self) -> list[str]:
        return list(dict.fromkeys([*self.key_columns, *self.sensitive, *self.numeric, *self.categorical]))

    @property
    def described(self) -> set[str]:
        """Every column the contract names."""
        return set(self.required_columns)

    @model_validator(mode="after")
    def _distinct(self) -> Schema:
        overlap = set(self.numeric) & set(self.categorical)
        if overlap:
            raise ValueError(f"columns both numeric and categorical: {sorted(overlap)}")
        if not self.feature_columns:
            raise ValueError("no feature columns left after removing keys, label and sensitive")
        reserved = sorted(RESERVED & self.described)
        if reserved:
            raise ValueError(f"column names the service's answer uses for itself: {reserved}; rename them")
        for column, edges in self.sensitive_bands.items():
            if column not in self.sensitive:
                raise ValueError(f"sensitive_bands.{column}: {column!r} is not listed in schema.sensitive")
            if len(edges) < 3 or list(edges) != sorted(set(edges)):
                raise ValueError(f"sensitive_bands.{column}: give at least three increasing band edges")
        for name, values in self.categorical.items():
            if not values:
                raise ValueError(f"categorical.{name}: no allowed values")
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
