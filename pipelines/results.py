"""What the flows return: one plain type per result, shared by the flows, the summaries and the tests.

Prefect keeps these as the flow runs' return values; nothing in them needs to be
persisted, so they are plain dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.timing import StepTime
from monitoring.drift_alert import DriftAlert
from monitoring.policy import Trigger
from monitoring.reports import WindowReport
from monitoring.simulator import TrafficResult
from pipelines.steps.training import TrainedModel
from serving.controller import CanaryRun


@dataclass
class BatchVerdict:
    """One arriving batch after validation: accepted, or quarantined with the checks it broke."""

    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    quarantine: str | None = None


@dataclass
class FeatureTables:
    rows: int
    checks: int


@dataclass
class DataVersions:
    """The DVC versions of ``data/raw`` and ``data/features`` a training run used."""

    raw: str
    features: str


@dataclass
class StoreState:
    service: str
    feature_views: list[str]
    materialized_until: str


@dataclass
class TrainingOutcome:
    run_id: str
    model_uri: str
    trained: TrainedModel  # handed to the gate in process: Prefect serializes nothing here
    candidates: int
    search_seconds: float


@dataclass
class Registration:
    verdict: str
    rules: list[str]
    passed: bool
    version: str | None
    alias: str | None
    note: str = ""  # what became of it: the role it took, or why it has none (gate, policy, approval)
    # Every failed rule of the gate and of the policy, with the file and key that set its bar.
    refusals: list[str] = field(default_factory=list)


@dataclass
class PipelineResult:
    steps: list[StepTime]  # in the order they ran: wall time and peak memory of each
    level: int
    drift_alert: DriftAlert | None
    batches: list[BatchVerdict]
    feature_table: FeatureTables
    data_version: str
    features_version: str
    feature_service: str
    run_id: str
    model_uri: str
    metrics: dict[str, float]
    candidates: int
    search_seconds: float
    family: str
    registration: Registration


@dataclass
class JudgedWindow:
    report: WindowReport
    decision: str


@dataclass
class MonitorResult:
    champion: str
    windows: list[JudgedWindow] = field(default_factory=list)
    quality: list[str] = field(default_factory=list)
    trigger: Trigger | None = None
    retrained: PipelineResult | None = None  # the retraining, when it ran in this flow run (a subflow)
    registration: Registration | None = None  # what the retraining registered, wherever it ran
    canary: CanaryRun | None = None  # a retrained challenger's canary, when the monitor ran one
    canary_traffic: TrafficResult | None = None
    log_problems: list[str] = field(default_factory=list)  # lines of the prediction log that were not readable


@dataclass
class WeekOfTraffic:
    week: int
    scenario: str
    traffic: TrafficResult
    monitor: MonitorResult | None = None


@dataclass
class LoopResult:
    training: PipelineResult | None  # None for the drift demo, which trains nothing first
    url: str
    weeks: list[WeekOfTraffic] = field(default_factory=list)
    canary: CanaryRun | None = None
    canary_traffic: TrafficResult | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    steps: list[StepTime] = field(default_factory=list)  # the loop's own steps, in order, with their wall time

    @property
    def retrained(self) -> PipelineResult | None:
        return next((w.monitor.retrained for w in self.weeks if w.monitor and w.monitor.retrained), None)
