"""The sections of params.yaml, one typed model each; ``core/settings.py`` assembles them.

Each section validates its own values (a bad one fails naming its key); checks that
span sections, such as a gate slice naming a column of the contract, live on
``Settings``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from core.contract import Strict

Scenario = Literal["none", "covariate_shift", "concept_drift", "quality_incident"]
# The maturity level the pipeline runs at (docs/workshop/): 0 a plain script ... 3 the full platform.
MaturityLevel = Literal[0, 1, 2, 3]
ModelFamily = Literal["logistic_regression", "gradient_boosting"]


class Arrival(Strict):
    """Arrival times for a file without a time column: rows in file order, a week at a time."""

    start: dt.date = dt.date(2026, 1, 5)
    rows_per_week: int = Field(ge=1)

    @model_validator(mode="after")
    def _monday(self) -> Arrival:
        if self.start.weekday() != 0:
            raise ValueError(f"start {self.start} is not a Monday")
        return self


class DataSettings(Strict):
    source: Literal["synthetic", "file"] = "synthetic"
    dir: Path = Path("data")
    seed: int = 42
    start_date: dt.date = dt.date(2026, 1, 5)
    history_weeks: int = Field(12, ge=3, le=520)
    applications_per_week: int = Field(1500, ge=50, le=1_000_000)
    customers: int = Field(6000, ge=10)
    scenario: Scenario = "none"
    scenario_weeks: int = Field(1, ge=1, le=52)
    scenario_strength: float = Field(1.0, gt=0.0, le=5.0)
    file: Path | None = None
    # Your own file: its latest weeks are held back from training and replayed as live
    # traffic by `make pipeline` (null: normal_weeks + drift_weeks of the simulation, plus
    # one for the canary; 0: train on every week and replay nothing).
    replay_weeks: int | None = Field(None, ge=0, le=52)
    # A flat file without an entity column: number its rows into schema.entity.
    row_id: bool = False
    # A flat file without a time column: rows arrive in file order, rows_per_week a week.
    arrival: Arrival | None = None

    @model_validator(mode="after")
    def _file_when_needed(self) -> DataSettings:
        if self.source == "file" and self.file is None:
            raise ValueError("source is 'file' but data.file is not set")
        if self.start_date.weekday() != 0:
            raise ValueError(f"start_date {self.start_date} is not a Monday")
        return self


class LabelRate(Strict):
    min: float = Field(ge=0.0, le=1.0)
    max: float = Field(ge=0.0, le=1.0)


class ValidationSettings(Strict):
    min_rows: int = Field(200, ge=1)
    max_rows: int = Field(1_000_000, ge=1)
    label_rate: LabelRate


Metric = Literal["roc_auc", "pr_auc", "f1", "log_loss", "brier", "calibration_error"]
LOWER_IS_BETTER: frozenset[str] = frozenset({"log_loss", "brier", "calibration_error"})


class SearchSettings(Strict):
    """Automated model selection: which families and hyper-parameters, and how many tries."""

    budget: int = Field(8, ge=1, le=1000)
    validation_weeks: int = Field(2, ge=1)
    primary_metric: Metric = "roc_auc"
    # The candidates are fitted on at most this many of the search's training rows (a
    # sample stratified by week and label, seeded by training.seed); each is still scored
    # on every validation row, and the winner is refitted on all training rows. None: no cap.
    max_rows: int | None = Field(200_000, ge=100)
    space: dict[ModelFamily, dict[str, list[Any]]]

    @model_validator(mode="after")
    def _not_empty(self) -> SearchSettings:
        if not self.space:
            raise ValueError("the search space names no model family")
        return self


class TrainingSettings(Strict):
    holdout_weeks: int = Field(2, ge=1)
    seed: int = 7
    # The hand-picked model, for runs without automated search (the lower maturity levels).
    model: ModelFamily = "logistic_regression"
    decision_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    params: dict[ModelFamily, dict[str, Any]] = Field(default_factory=dict)
    search: SearchSettings
    # BLAS and OpenMP threads per fit: "auto" is one below SMALL_FIT_ROWS training rows
    # (pipelines/steps/training.py), the libraries' default (every core) above.
    native_threads: int | Literal["auto"] = "auto"


class SliceSpec(Strict):
    column: str
    bins: tuple[float, ...] | None = None  # a numeric column is cut into these bands


class BehaviourSettings(Strict):
    # feature -> tolerance: raising the feature must never lower the risk by more than this.
    increasing: dict[str, float] = Field(default_factory=dict)
    # columns that must not change a prediction (identifiers, the sensitive attribute).
    invariant: tuple[str, ...] = ()


class GateSettings(Strict):
    """The automated validation gate: declarative thresholds, evaluated by pipelines/gate.py."""

    dry_run: bool = False
    min_improvement: float = Field(0.002, ge=0.0)
    minimums: dict[Metric, float] = Field(default_factory=dict)
    maximums: dict[Metric, float] = Field(default_factory=dict)
    no_worse_than_champion: dict[Metric, Annotated[float, Field(ge=0.0)]] = Field(default_factory=dict)
    slices: dict[str, SliceSpec] = Field(default_factory=dict)
    slice_tolerance: float = Field(0.03, ge=0.0)
    slice_min_rows: int = Field(100, ge=10)
    latency_budget_ms: float = Field(50.0, gt=0.0)
    size_budget_mb: float = Field(10.0, gt=0.0)
    behaviour: BehaviourSettings = BehaviourSettings()


COUNT_PREFIX = "events"  # events_<window>d: how many events the entity had in the window


class Ratio(Strict):
    numerator: str
    denominator: str
    scale: float = 1.0


class FeatureSettings(Strict):
    """The feature store: what is engineered, stored, served, and under which names."""

    # The Feast project is the settings' top-level ``project`` (one name per team on a shared stack).
    service: str = Field("credit_default", pattern=r"^[a-z][a-z0-9_]*$")
    service_version: int = Field(1, ge=1)
    window_days: int = Field(90, ge=1, le=3650)
    ttl_days: int = Field(365, ge=1)
    history: dict[str, tuple[Literal["sum", "mean", "max", "min"], ...]] = Field(default_factory=dict)
    ratios: dict[str, Ratio] = Field(default_factory=dict)
    # Feast's configuration template in features/feature_repo/: where the registry and
    # the online store live. ${VARIABLES} in it come from the environment.
    store_config: str = Field("feature_store.yaml", pattern=r"^feature_store[a-z0-9_.-]*\.yaml$")
    # Where the history table is computed and the point-in-time join runs: pandas, in
    # memory; or DuckDB, out of core (SQL over the raw files; Feast's DuckDB offline store).
    engine: Literal["pandas", "duckdb"] = "pandas"
    engine_memory_gb: float | None = Field(None, gt=0)  # DuckDB's memory limit; null: its default (80% of RAM)
    # The service writes each answered event's history row to the online store, so the
    # entity's next request sees it (features/freshness.py). false: only materialization does.
    fresh_online: bool = True

    @property
    def service_name(self) -> str:
        """Versioned, so a model can say exactly which service it was trained on."""
        return f"{self.service}_v{self.service_version}"

    @property
    def history_names(self) -> list[str]:
        """The stored history features: the entity's event count, then each aggregate."""
        window = f"{self.window_days}d"
        names = [f"{COUNT_PREFIX}_{window}"]
        for column, aggregations in self.history.items():
            names += [f"{column}_{how}_{window}" for how in aggregations]
        return names

    @property
    def engineered_names(self) -> list[str]:
        """Every feature the platform computes: stored history, then request-time ratios."""
        return [*self.history_names, *self.ratios]


class MlflowSettings(Strict):
    tracking_uri: str | None = None
    # Left out of params.yaml, both are the project's name with dashes (Settings fills them in):
    # two projects on one tracking server never share an experiment or a registered model by default.
    experiment: str = Field(min_length=1)
    registered_model: str = Field(min_length=1)
    description: str = "A binary classifier trained and governed by the reference platform."


class PrefectSettings(Strict):
    api_url: str | None = None
    task_retries: int = Field(2, ge=0, le=10)
    task_retry_delay_seconds: float = Field(2.0, ge=0.0)
    # Where the search scores its candidates: one after another in the flow's process
    # (inline), or as Prefect tasks on a Dask cluster (dask_address; null starts a local
    # one of dask_workers processes).
    task_runner: Literal["inline", "dask"] = "inline"
    dask_address: str | None = None
    dask_workers: int = Field(2, ge=1, le=256)


class DvcSettings(Strict):
    # null: a folder under state_dir; else a URL DVC understands (s3://bucket/path). The
    # S3 endpoint and credentials come from the environment (AWS_ENDPOINT_URL, AWS_*).
    remote: str | None = None


class FeatureDrift(Strict):
    """An Evidently drift test for one feature: a method name Evidently knows, and its threshold."""

    method: str | None = None  # e.g. wasserstein, psi, ks, jensenshannon; None: Evidently's default
    threshold: float | None = Field(None, gt=0.0)


class DriftSettings(Strict):
    """How a window's drift is measured (Evidently's defaults are the starting point)."""

    share: float = Field(0.3, gt=0.0, le=1.0)  # a window drifts when this share of features drift
    num_method: str | None = None
    cat_method: str | None = None
    threshold: float | None = Field(None, gt=0.0)
    per_feature: dict[str, FeatureDrift] = Field(default_factory=dict)
    prediction: FeatureDrift = FeatureDrift()


class QualitySettings(Strict):
    """Model quality once the delayed labels have joined the predictions."""

    min_labelled_rows: int = Field(200, ge=20)
    max_roc_auc_drop: float = Field(0.05, gt=0.0, le=1.0)  # against the reference (the champion's holdout)


class TriggerSettings(Strict):
    """When judged windows start a retraining."""

    consecutive_windows: int = Field(2, ge=1)
    critical_features: tuple[str, ...] = ()  # any one of these drifting is enough on its own
    cooldown_minutes: float = Field(60.0, ge=0.0)
    on_quality_drop: bool = True


class SimulationSettings(Strict):
    """The traffic simulator: which weeks are sent (the synthetic lender's next weeks, or the
    held-back weeks of your file), under which scenario, and how fast."""

    scenario: Scenario = "covariate_shift"
    normal_weeks: int = Field(1, ge=0, le=52)
    drift_weeks: int = Field(2, ge=0, le=52)
    requests_per_week: int | None = Field(None, ge=1)  # None: every application of the week
    concurrency: int = Field(32, ge=1, le=64)
    rate_per_second: float | None = Field(None, gt=0.0)  # None: as fast as the service answers
    max_seconds_per_week: float = Field(300.0, gt=0.0)
    # Your own file's scenarios (core/scenarios.py) change these columns; empty: every feature column.
    columns: tuple[str, ...] = ()


class SkewSettings(Strict):
    """Serving skew: a sample of each window's served history features, recomputed from the landed data."""

    sample_rows: int = Field(200, ge=1)  # served rows recomputed per window
    max_share: float = Field(0.01, ge=0, le=1)  # above this share of differing rows: an alert
    seed: int = 0


class MonitoringSettings(Strict):
    """Windows of the prediction log, their reports, and the retraining trigger policy."""

    window_rows: int = Field(2000, ge=10)
    min_rows: int = Field(300, ge=10)
    drift: DriftSettings = DriftSettings()
    quality: QualitySettings = QualitySettings()
    trigger: TriggerSettings = TriggerSettings()
    simulation: SimulationSettings = SimulationSettings()
    skew: SkewSettings = SkewSettings()

    @model_validator(mode="after")
    def _min_rows_fit_a_window(self) -> MonitoringSettings:
        if self.min_rows > self.window_rows:
            raise ValueError(f"min_rows ({self.min_rows}) exceeds window_rows ({self.window_rows})")
        return self


class ModelCardSettings(Strict):
    """What no registry knows about this data and model: written by people, printed in every card."""

    intended_use: str = ""
    out_of_scope: str = ""
    limitations: str = ""


class ServingSettings(Strict):
    """How the prediction service runs: its worker processes and each one's request threads."""

    # "auto": one worker per core, at most MAX_AUTO_WORKERS (each holds the stack and both
    # models, about 400 MB). Workers route by the same canary state file and BentoML sums
    # their metrics, so a canary reads the same with one or several.
    workers: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = "auto"
    # Per worker: the requests in flight at once, so also the largest batch that can gather.
    # 1 would queue every request behind the one in flight.
    threads: int = Field(32, ge=1, le=256)
    # Adaptive micro-batching (serving/batching.py): the requests waiting when the batching
    # thread gets to them are scored with one feature read and one call per model, at most
    # this many. 1 turns it off (each request scored in its own thread, as before).
    max_batch_size: int = Field(32, ge=1, le=1024)
    # How long a batch waits for more requests once its first arrived. 0: not at all; the
    # batches grow by themselves under load, while the previous batch is being scored.
    max_wait_ms: float = Field(0.0, ge=0, le=100)
    # BentoML's access log: a line per HTTP request on the service's log. Off by default: the
    # prediction log holds every answer (id, latency, variant) and /metrics counts every status,
    # and writing the line was an eighth of the one process's time at concurrency 32.
    access_log: bool = False
    # OpenTelemetry spans per HTTP request. BentoML samples none unless a tracing exporter is
    # configured (its tracing.sample_rate defaults to 0), yet its middleware still made and
    # dropped a span per request: about 5% of the one process's time at concurrency 32 (py-spy).
    # Off by default; on, with BentoML's tracing configuration (exporter, sample_rate), to trace.
    tracing: bool = False
    # A shared prediction log (loop_store set) is written in segments: one object per this many
    # records or this many seconds, whichever comes first, and on shutdown. A hard kill loses
    # what is not yet written: the window serving/README.md states.
    log_segment_rows: int = Field(500, ge=1, le=100_000)
    log_flush_seconds: float = Field(5.0, gt=0, le=3600)
    # A registry version this deployment serves, whatever the aliases say (MLOPS_MODEL_VERSION).
    # Set per pod template in a cluster, where Argo Rollouts does the canary: its canary pods
    # pin the challenger's version, its stable pods the champion's (infra/README.md). None:
    # the champion alias answers, and the local canary state routes to the challenger.
    model_version: str | None = Field(None, pattern=r"^[1-9][0-9]*$")

    MAX_AUTO_WORKERS: ClassVar[int] = 4

    def worker_count(self, cpus: int | None) -> int:
        if self.workers != "auto":
            return self.workers
        return max(1, min(cpus or 1, self.MAX_AUTO_WORKERS))


class GovernanceSettings(Strict):
    """Where the policy is and how promotions are approved (the rules are in the policy file)."""

    policy_file: Path | None = None  # None: governance/policy.yaml of this project
    approval_mode: Literal["automatic", "manual"] = "automatic"
    explain_top_k: int = Field(5, ge=1, le=100)  # features /explain returns per request
