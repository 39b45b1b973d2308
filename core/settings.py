"""The one typed, validated settings object, loaded from ``params.yaml``.

Every knob lives in that file. Environment variables override only what differs
between machines: endpoints and the state folder (``ENV_OVERRIDES``). Command-line
overrides (``data.scenario=covariate_shift``) are applied before validation, so a bad
value fails in one place, with a message that names its key.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PARAMS = PROJECT_ROOT / "params.yaml"
# Profiles (infra/profiles/<name>.yaml) say where the platform keeps its state: `local`
# embeds everything, `team` uses servers. A profile is laid over params.yaml.
PROFILES_DIR = PROJECT_ROOT / "infra" / "profiles"

# Environment variable -> dotted settings key. Only endpoints and locations: the
# behaviour of the platform is configured in params.yaml and nowhere else.
# MLOPS_PARAMS names the configuration file itself (like KUBECONFIG): the feast CLI,
# which imports our definitions, finds the pipeline's params through it.
PARAMS_VARIABLE = "MLOPS_PARAMS"
ENV_OVERRIDES: dict[str, str] = {
    "MLOPS_STATE_DIR": "state_dir",
    "MLFLOW_TRACKING_URI": "mlflow.tracking_uri",
    "PREFECT_API_URL": "prefect.api_url",
    # Which deployment this machine is (local, team): chosen per machine, like an endpoint.
    "MLOPS_PROFILE": "profile",
    "MLOPS_DVC_REMOTE": "dvc.remote",
    "MLOPS_DASK_ADDRESS": "prefect.dask_address",
}

Scenario = Literal["none", "covariate_shift", "concept_drift", "quality_incident"]
# The maturity level the pipeline runs at (docs/workshop/): 0 a plain script ... 3 the full platform.
MaturityLevel = Literal[0, 1, 2, 3]
ModelFamily = Literal["logistic_regression", "gradient_boosting"]


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumericColumn(_Strict):
    min: float
    max: float
    max_null_share: float = Field(0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> NumericColumn:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Schema(_Strict):
    """The data contract: the validation suite is derived from it, and so are the features."""

    entity: str
    timestamp: str
    label: str
    record_id: str | None = None
    sensitive: tuple[str, ...] = ()
    numeric: dict[str, NumericColumn]
    categorical: dict[str, tuple[str, ...]]

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


class DataSettings(_Strict):
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

    @model_validator(mode="after")
    def _file_when_needed(self) -> DataSettings:
        if self.source == "file" and self.file is None:
            raise ValueError("source is 'file' but data.file is not set")
        if self.start_date.weekday() != 0:
            raise ValueError(f"start_date {self.start_date} is not a Monday")
        return self


class LabelRate(_Strict):
    min: float = Field(ge=0.0, le=1.0)
    max: float = Field(ge=0.0, le=1.0)


class ValidationSettings(_Strict):
    min_rows: int = Field(200, ge=1)
    max_rows: int = Field(1_000_000, ge=1)
    label_rate: LabelRate


Metric = Literal["roc_auc", "pr_auc", "f1", "log_loss", "brier", "calibration_error"]
LOWER_IS_BETTER: frozenset[str] = frozenset({"log_loss", "brier", "calibration_error"})


class SearchSettings(_Strict):
    """Automated model selection: which families and hyper-parameters, and how many tries."""

    budget: int = Field(8, ge=1, le=1000)
    validation_weeks: int = Field(2, ge=1)
    primary_metric: Metric = "roc_auc"
    space: dict[ModelFamily, dict[str, list[Any]]]

    @model_validator(mode="after")
    def _not_empty(self) -> SearchSettings:
        if not self.space:
            raise ValueError("the search space names no model family")
        return self


class TrainingSettings(_Strict):
    holdout_weeks: int = Field(2, ge=1)
    seed: int = 7
    # The hand-picked model, for runs without automated search (the lower maturity levels).
    model: ModelFamily = "logistic_regression"
    decision_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    params: dict[ModelFamily, dict[str, Any]] = Field(default_factory=dict)
    search: SearchSettings


class SliceSpec(_Strict):
    column: str
    bins: tuple[float, ...] | None = None  # a numeric column is cut into these bands


class BehaviourSettings(_Strict):
    # feature -> tolerance: raising the feature must never lower the risk by more than this.
    increasing: dict[str, float] = Field(default_factory=dict)
    # columns that must not change a prediction (identifiers, the sensitive attribute).
    invariant: tuple[str, ...] = ()


class GateSettings(_Strict):
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


class Ratio(_Strict):
    numerator: str
    denominator: str
    scale: float = 1.0


class FeatureSettings(_Strict):
    """The feature store: what is engineered, stored, served, and under which names."""

    project: str = Field("credit_risk", pattern=r"^[a-z][a-z0-9_]*$")
    service: str = Field("credit_default", pattern=r"^[a-z][a-z0-9_]*$")
    service_version: int = Field(1, ge=1)
    window_days: int = Field(90, ge=1, le=3650)
    ttl_days: int = Field(365, ge=1)
    history: dict[str, tuple[Literal["sum", "mean", "max", "min"], ...]] = Field(default_factory=dict)
    ratios: dict[str, Ratio] = Field(default_factory=dict)
    # Feast's configuration template in features/feature_repo/: where the registry and
    # the online store live. ${VARIABLES} in it come from the environment.
    store_config: str = Field("feature_store.yaml", pattern=r"^feature_store[a-z0-9_.-]*\.yaml$")

    @property
    def service_name(self) -> str:
        """Versioned, so a model can say exactly which service it was trained on."""
        return f"{self.service}_v{self.service_version}"


class MlflowSettings(_Strict):
    tracking_uri: str | None = None
    experiment: str = "credit-default"
    registered_model: str = "credit-default"


class PrefectSettings(_Strict):
    api_url: str | None = None
    task_retries: int = Field(2, ge=0, le=10)
    task_retry_delay_seconds: float = Field(2.0, ge=0.0)
    # Where the search scores its candidates: one after another in the flow's process
    # (inline), or as Prefect tasks on a Dask cluster (dask_address; null starts a local
    # one of dask_workers processes).
    task_runner: Literal["inline", "dask"] = "inline"
    dask_address: str | None = None
    dask_workers: int = Field(2, ge=1, le=256)


class DvcSettings(_Strict):
    # null: a folder under state_dir; else a URL DVC understands (s3://bucket/path). The
    # S3 endpoint and credentials come from the environment (AWS_ENDPOINT_URL, AWS_*).
    remote: str | None = None


class FeatureDrift(_Strict):
    """An Evidently drift test for one feature: a method name Evidently knows, and its threshold."""

    method: str | None = None  # e.g. wasserstein, psi, ks, jensenshannon; None: Evidently's default
    threshold: float | None = Field(None, gt=0.0)


class DriftSettings(_Strict):
    """How a window's drift is measured (Evidently's defaults are the starting point)."""

    share: float = Field(0.3, gt=0.0, le=1.0)  # a window drifts when this share of features drift
    num_method: str | None = None
    cat_method: str | None = None
    threshold: float | None = Field(None, gt=0.0)
    per_feature: dict[str, FeatureDrift] = Field(default_factory=dict)
    prediction: FeatureDrift = FeatureDrift()


class QualitySettings(_Strict):
    """Model quality once the delayed labels have joined the predictions."""

    min_labelled_rows: int = Field(200, ge=20)
    max_roc_auc_drop: float = Field(0.05, gt=0.0, le=1.0)  # against the reference (the champion's holdout)


class TriggerSettings(_Strict):
    """When judged windows start a retraining."""

    consecutive_windows: int = Field(2, ge=1)
    critical_features: tuple[str, ...] = ()  # any one of these drifting is enough on its own
    cooldown_minutes: float = Field(60.0, ge=0.0)
    on_quality_drop: bool = True


class SimulationSettings(_Strict):
    """The traffic simulator: which weeks of the synthetic lender are sent, and how fast."""

    scenario: Scenario = "covariate_shift"
    normal_weeks: int = Field(1, ge=0, le=52)
    drift_weeks: int = Field(2, ge=0, le=52)
    requests_per_week: int | None = Field(None, ge=1)  # None: every application of the week
    concurrency: int = Field(4, ge=1, le=64)
    rate_per_second: float | None = Field(None, gt=0.0)  # None: as fast as the service answers
    max_seconds_per_week: float = Field(300.0, gt=0.0)


class MonitoringSettings(_Strict):
    """Windows of the prediction log, their reports, and the retraining trigger policy."""

    window_rows: int = Field(2000, ge=10)
    min_rows: int = Field(300, ge=10)
    drift: DriftSettings = DriftSettings()
    quality: QualitySettings = QualitySettings()
    trigger: TriggerSettings = TriggerSettings()
    simulation: SimulationSettings = SimulationSettings()

    @model_validator(mode="after")
    def _min_rows_fit_a_window(self) -> MonitoringSettings:
        if self.min_rows > self.window_rows:
            raise ValueError(f"min_rows ({self.min_rows}) exceeds window_rows ({self.window_rows})")
        return self


class GovernanceSettings(_Strict):
    """Where the policy is and how promotions are approved (the rules are in the policy file)."""

    policy_file: Path | None = None  # None: governance/policy.yaml of this project
    approval_mode: Literal["automatic", "manual"] = "automatic"
    explain_top_k: int = Field(5, ge=1, le=100)  # features /explain returns per request


class Settings(_Strict):
    """Everything the platform needs to know, rooted at the folder of its params file."""

    root: Path
    params_file: Path
    level: MaturityLevel = 3
    profile: str = Field("local", pattern=r"^[a-z][a-z0-9_-]*$")
    state_dir: Path = Path(".state")
    data: DataSettings
    schema_: Schema = Field(alias="schema")
    validation: ValidationSettings
    features: FeatureSettings = FeatureSettings()
    training: TrainingSettings
    gate: GateSettings
    mlflow: MlflowSettings = MlflowSettings()
    prefect: PrefectSettings = PrefectSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    dvc: DvcSettings = DvcSettings()
    governance: GovernanceSettings = GovernanceSettings()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _features_use_described_columns(self) -> Settings:
        numeric = set(self.schema_.numeric)
        for column in self.features.history:
            if column not in numeric:
                raise ValueError(f"features.history.{column}: not a numeric column of the schema")
        for name, ratio in self.features.ratios.items():
            for column in (ratio.numerator, ratio.denominator):
                if column not in numeric:
                    raise ValueError(f"features.ratios.{name}: {column!r} is not a numeric column of the schema")
        return self

    @model_validator(mode="after")
    def _gate_names_known_columns(self) -> Settings:
        described = {*self.schema_.numeric, *self.schema_.categorical}
        for name, spec in self.gate.slices.items():
            if spec.column not in described:
                raise ValueError(f"gate.slices.{name}: {spec.column!r} is not a column of the schema")
        for column in self.gate.behaviour.increasing:
            if column not in self.schema_.numeric:
                raise ValueError(f"gate.behaviour.increasing.{column}: not a numeric column of the schema")
        return self

    @model_validator(mode="after")
    def _holdout_leaves_training_data(self) -> Settings:
        if self.data.source == "synthetic" and self.training.holdout_weeks >= self.data.history_weeks:
            raise ValueError(
                f"training.holdout_weeks ({self.training.holdout_weeks}) must be smaller than "
                f"data.history_weeks ({self.data.history_weeks})"
            )
        return self

    # Resolved locations. Relative paths are relative to the params file's folder.
    def _resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.root / path

    @property
    def state(self) -> Path:
        return self._resolve(self.state_dir)

    @property
    def data_dir(self) -> Path:
        return self._resolve(self.data.dir)

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def features_dir(self) -> Path:
        """Engineered feature tables, versioned by DVC like the raw batches."""
        return self.data_dir / "features"

    @property
    def feast_dir(self) -> Path:
        """Feast's registry and online store."""
        return self.state / "feast"

    @property
    def reports_dir(self) -> Path:
        return self.state / "reports"

    @property
    def predictions_dir(self) -> Path:
        """The prediction log the service appends to (serving/prediction_log.py)."""
        return self.data_dir / "predictions"

    @property
    def labels_dir(self) -> Path:
        """Delayed ground truth, joined to the prediction log by request id."""
        return self.data_dir / "labels"

    @property
    def monitoring_dir(self) -> Path:
        """Drift reports, the monitor's state and the Evidently workspace."""
        return self.state / "monitoring"

    @property
    def policy_file(self) -> Path:
        """The governance policy: the configured file, or the project's own."""
        configured = self.governance.policy_file
        return self._resolve(configured) if configured else PROJECT_ROOT / "governance" / "policy.yaml"

    @property
    def data_file(self) -> Path | None:
        return self._resolve(self.data.file) if self.data.file else None

    @property
    def tracking_uri(self) -> str:
        # Four slashes: sqlite:/// followed by an absolute path.
        return self.mlflow.tracking_uri or f"sqlite:///{self.state / 'mlflow' / 'mlflow.db'}"

    @property
    def artifact_location(self) -> str | None:
        """Where a new experiment keeps artifacts: the state folder for a local store.

        A tracking server decides for itself (None). Judged by the URI, not by where it
        came from: ``make env`` exports the local SQLite URI too.
        """
        local = self.tracking_uri.startswith(("sqlite:", "file:")) or "://" not in self.tracking_uri
        return (self.state / "mlflow" / "artifacts").as_uri() if local else None


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for key in parents:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise SettingsError(f"{dotted}: '{key}' is not a section")
        node = child
    node[leaf] = value


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """Turn ``["data.scenario=concept_drift", ...]`` into a dict of typed YAML values."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"override '{pair}' is not of the form key=value")
        parsed[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
    return parsed


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``, section by section."""
    merged = dict(base)
    for key, value in over.items():
        below = merged.get(key)
        merged[key] = _merge(below, value) if isinstance(below, dict) and isinstance(value, Mapping) else value
    return merged


def load_profile(name: str, env: Mapping[str, str], folder: Path = PROFILES_DIR) -> dict[str, Any]:
    """The settings a profile lays over params.yaml, once the environment it needs is there.

    A profile file holds ``settings`` (a partial params tree) and ``environment`` (the
    variables that must be set: endpoints and credentials, never in the repository).
    """
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise SettingsError(f"profile: {name!r} is not a profile name (lower-case letters, digits, - and _)")
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise SettingsError(f"profile: no profile named {name!r} in {folder} (known: {', '.join(known)})")
    profile = yaml.safe_load(path.read_text()) or {}
    unknown = set(profile) - {"settings", "environment"}
    if unknown:
        raise SettingsError(f"{path}: unknown keys {sorted(unknown)}; a profile holds settings and environment")
    missing = [variable for variable in profile.get("environment") or [] if not env.get(variable)]
    if missing:
        raise SettingsError(
            f"profile {name!r} needs these environment variables, which are not set: {', '.join(missing)} "
            "(infra/.env.example describes each)"
        )
    settings = profile.get("settings") or {}
    if not isinstance(settings, dict):
        raise SettingsError(f"{path}: settings must be a mapping")
    return settings


def _format_errors(error: ValidationError, source: Path) -> str:
    lines = [f"invalid configuration in {source}:"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        key = key.replace("schema_", "schema")
        got = item.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"  {key}: {item['msg']}{shown}")
    return "\n".join(lines)


def load_settings(
    path: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read, override and validate the settings; raise ``SettingsError`` naming the bad key."""
    env = os.environ if environ is None else environ
    source = Path(path or env.get(PARAMS_VARIABLE) or DEFAULT_PARAMS).resolve()
    try:
        tree = yaml.safe_load(source.read_text()) or {}
    except FileNotFoundError as exc:
        raise SettingsError(f"configuration file not found: {source}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(tree, dict):
        raise SettingsError(f"{source} must hold a mapping at the top level")

    # The profile is chosen like any key (file < environment < command line), and laid
    # over the file before the environment and the command line override single keys.
    profile = (overrides or {}).get("profile") or env.get("MLOPS_PROFILE") or tree.get("profile") or "local"
    tree = _merge(tree, load_profile(str(profile), env))
    for variable, key in ENV_OVERRIDES.items():
        if env.get(variable):
            _set_dotted(tree, key, env[variable])
    for key, value in (overrides or {}).items():
        _set_dotted(tree, key, value)
    tree["root"], tree["params_file"] = str(source.parent), str(source)
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        raise SettingsError(_format_errors(exc, source)) from None
