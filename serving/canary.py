"""The canary's configuration, its live state, and sticky routing: plain functions.

``serving/canary.yaml`` holds the knobs (steps, analysis, thresholds). The live state
(which challenger, at what weight) is a small JSON document: a file in the state folder,
or, under the team profile, an object on the shared ``loop_store`` that every replica
reads (``core/loop_store.py``). The controller replaces it whole, and each replica
re-reads it within a quarter of a second, so a weight change, a promotion or a rollback
takes effect everywhere without a restart and without dropping a request. Routing is a
pure function of the state and the entity, so replicas that read the same state route
every customer alike.

Routing is sticky: an applicant's bucket is a hash of the challenger's version and the
customer id, so one applicant meets one model while a weight holds, and, because the
weight only grows, stays with the challenger once routed there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from core import loop_store
from core.contract import Strict
from core.settings import Settings

CANARY_FILE = Path(__file__).resolve().parent / "canary.yaml"
Variant = Literal["champion", "challenger"]


class Analysis(Strict):
    interval_seconds: float = Field(10, gt=0)
    min_requests: int = Field(40, ge=1)
    threshold: int = Field(2, ge=1)
    progress_deadline_seconds: float = Field(900, gt=0)


class CanaryMetrics(Strict):
    min_success_rate: float = Field(0.99, ge=0, le=1)
    max_p99_latency_ms: float = Field(250, gt=0)
    max_p99_latency_ratio: float = Field(2.0, gt=0)
    max_p50_latency_ratio: float = Field(2.0, gt=0)
    max_quality_degradation: float = Field(0.03, ge=0)
    min_labelled: int = Field(200, ge=1)
    confidence: float = Field(0.99, gt=0.5, lt=1.0)


class CanaryConfig(Strict):
    steps: tuple[int, ...] = (5, 25, 50, 100)
    analysis: Analysis = Analysis()
    metrics: CanaryMetrics = CanaryMetrics()
    shadow: bool = False

    @field_validator("steps")
    @classmethod
    def _increasing_to_100(cls, steps: tuple[int, ...]) -> tuple[int, ...]:
        if not steps or list(steps) != sorted(set(steps)) or steps[0] <= 0 or steps[-1] != 100:
            raise ValueError(f"steps must rise strictly from above 0 to 100, got {list(steps)}")
        return steps


def load_canary_config(path: Path = CANARY_FILE) -> CanaryConfig:
    try:
        return CanaryConfig.model_validate(yaml.safe_load(path.read_text()) or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"invalid canary configuration in {path}: {problems}") from None


def compressed(config: CanaryConfig) -> CanaryConfig:
    """The same canary with intervals short enough to watch: for demos and simulated traffic,
    where a week of applications passes in seconds. Steps, metric thresholds and confidence are kept;
    the progress deadline shrinks with the intervals."""
    analysis = config.analysis.model_copy(
        update={
            "interval_seconds": 0.5,
            "min_requests": min(15, config.analysis.min_requests),
            "threshold": 2,
            "progress_deadline_seconds": min(120.0, config.analysis.progress_deadline_seconds),
        }
    )
    return config.model_copy(update={"analysis": analysis})


@dataclass(frozen=True)
class CanaryState:
    """What the service routes by; written only by the controller (or by hand, see README)."""

    challenger_version: str | None = None
    weight: int = 0  # percent of applicants routed to the challenger
    shadow: bool = False
    note: str = ""


def parse_state(raw: bytes | None) -> CanaryState:
    """The state a document holds (``core/loop_store.py``); none written yet: the champion alone."""
    return CanaryState() if raw is None else CanaryState(**json.loads(raw))


def read_state(settings: Settings) -> CanaryState:
    """What the service routes by now: a file in the state folder, or on ``loop_store`` for every replica."""
    return parse_state(loop_store.read_document(settings, loop_store.CANARY_STATE))


def write_state(settings: Settings, state: CanaryState) -> None:
    """Replace the state whole: a reader (every replica) sees the old state or the new, never half."""
    loop_store.write_json(settings, loop_store.CANARY_STATE, asdict(state))


def bucket(entity: str, salt: str) -> float:
    """A stable position in [0, 100) for this applicant under this challenger."""
    digest = hashlib.sha256(f"{salt}:{entity}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 / 100


def route(entity: str, state: CanaryState) -> Variant:
    """Which variant answers this applicant (in shadow mode the champion always answers)."""
    if state.challenger_version is None or state.shadow or state.weight <= 0:
        return "champion"
    return "challenger" if bucket(entity, state.challenger_version) < state.weight else "champion"
