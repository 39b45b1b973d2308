"""Level 4 preview: automated root-cause hints, traced from the drift ranking to raw fields.

A drift report ranks the model's *features*; many of them are engineered (history
aggregates, request-time ratios), so "a ratio drifted" does not yet say what
changed in the world. Every feature's recipe is in params.yaml, so each drifted feature
can be traced back to the raw fields it is computed from, and the raw fields ranked by
how much of the drift they explain. That ranking is a hint, not a diagnosis: a preview of
the model's Level 4 "automated root cause analysis".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.settings import Settings


@dataclass(frozen=True)
class Hint:
    source: str  # a raw field of the schema
    explains: tuple[str, ...]  # the drifted features computed from it, most severe first
    weight: float  # summed severity of those features, shared among their sources

    def __str__(self) -> str:
        direct = self.source in self.explains
        others = [f for f in self.explains if f != self.source]
        parts = (["drifted itself"] if direct else []) + ([f"feeds {', '.join(others)}"] if others else [])
        return f"{self.source}: {'; '.join(parts)} (weight {self.weight:.2f})"


def feature_sources(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Each model feature -> the raw fields it is computed from (a raw field -> itself)."""
    schema, features = settings.schema_, settings.features
    window = f"{features.window_days}d"
    sources: dict[str, tuple[str, ...]] = {column: (column,) for column in schema.feature_columns}
    # The application count depends on how often a customer applies: the entity's activity.
    sources[f"events_{window}"] = (schema.entity,)
    for column, aggregations in features.history.items():
        for how in aggregations:
            sources[f"{column}_{how}_{window}"] = (column,)
    for name, ratio in features.ratios.items():
        sources[name] = (ratio.numerator, ratio.denominator)
    return sources


def root_cause_hints(settings: Settings, drifted: Sequence[tuple[str, float]], top: int = 3) -> list[Hint]:
    """Rank raw fields by the drift they explain. ``drifted``: (feature, severity), any order.

    A feature's severity is shared equally among its sources, so a ratio that drifted
    because its numerator moved does not count twice; a raw field that drifted itself and
    also feeds drifted aggregates rises to the top.
    """
    sources = feature_sources(settings)
    weight: dict[str, float] = {}
    explains: dict[str, list[tuple[float, str]]] = {}
    for feature, severity in drifted:
        for source in sources.get(feature, (feature,)):
            weight[source] = weight.get(source, 0.0) + severity / len(sources.get(feature, (feature,)))
            explains.setdefault(source, []).append((severity, feature))
    ranked = sorted(weight, key=lambda s: weight[s], reverse=True)[:top]
    return [Hint(s, tuple(f for _, f in sorted(explains[s], reverse=True)), weight[s]) for s in ranked]
