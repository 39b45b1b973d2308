"""The one typed, validated settings object, loaded from ``params.yaml``.

Every knob lives in that file. Environment variables override only what differs
between machines: endpoints and the state folder (``ENV_OVERRIDES``). Command-line
overrides (``data.scenario=covariate_shift``) are applied before validation, so a bad
value fails in one place, with a message that names its key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ConfigDict, Field, ValidationError, model_validator

from core.contract import Schema, Strict
from core.sections import (
    DataSettings,
    DvcSettings,
    FeatureSettings,
    GateSettings,
    GovernanceSettings,
    MaturityLevel,
    MlflowSettings,
    ModelCardSettings,
    MonitoringSettings,
    PrefectSettings,
    ServingSettings,
    TrainingSettings,
    ValidationSettings,
)

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
    "MLOPS_LOOP_STORE": "loop_store",
    "MLOPS_DASK_ADDRESS": "prefect.dask_address",
    # The model version a pod serves: chosen per deployment (a cluster's pod template), like an endpoint.
    "MLOPS_MODEL_VERSION": "serving.model_version",
}


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""


class Settings(Strict):
    """Everything the platform needs to know, rooted at the folder of its params file."""

    root: Path
    params_file: Path
    # The project's name: its namespace on a shared (team) stack, so two params files on one
    # stack, with one set of exports, never touch each other's state. It is the Feast project,
    # the default MLflow experiment and registered model (with dashes), the Prefect deployments'
    # name, and the folder of the DVC remote and of the loop store (see the properties below).
    # Feast's rule for a project's name: lower-case letters, digits and underscores.
    project: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=63)
    level: MaturityLevel = 3
    profile: str = Field("local", pattern=r"^[a-z][a-z0-9_-]*$")
    state_dir: Path = Path(".state")
    # Where the loop's traffic state lives: the prediction log and the delivered labels.
    # None: files under data/ (predictions_dir, labels_dir); a URL (s3://bucket/prefix) is shared.
    loop_store: str | None = Field(None, pattern=r"^[a-z][a-z0-9+]*://\S+$")
    data: DataSettings
    schema_: Schema = Field(alias="schema")
    validation: ValidationSettings
    features: FeatureSettings = FeatureSettings()
    training: TrainingSettings
    gate: GateSettings
    mlflow: MlflowSettings
    prefect: PrefectSettings = PrefectSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    dvc: DvcSettings = DvcSettings()
    serving: ServingSettings = ServingSettings()
    governance: GovernanceSettings = GovernanceSettings()
    model_card: ModelCardSettings = ModelCardSettings()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _mlflow_names_from_the_project(cls, data: Any) -> Any:
        # Unset, the experiment and the registered model are the project's: never another project's.
        if not isinstance(data, dict) or not isinstance(data.get("project"), str):
            return data
        mlflow = data.get("mlflow")
        mlflow = dict(mlflow) if isinstance(mlflow, Mapping) else {}
        for key in ("experiment", "registered_model"):
            if mlflow.get(key) is None:
                mlflow[key] = data["project"].replace("_", "-")
        return {**data, "mlflow": mlflow}

    @property
    def slug(self) -> str:
        """The project's name with dashes, for names that allow no underscore (Prefect artifact keys)."""
        return self.project.replace("_", "-")

    @property
    def deployment(self) -> str:
        """The name of this project's Prefect deployments (``training-pipeline/<project>``)."""
        return self.project

    @property
    def dvc_remote(self) -> str | None:
        """The shared DVC remote, in this project's own folder: ``<dvc.remote>/<project>``.

        DVC's remote is content-addressed, so sharing one would not corrupt data, but
        ``dvc gc --cloud`` of one project would delete every object the other pushed.
        """
        return f"{self.dvc.remote.rstrip('/')}/{self.project}" if self.dvc.remote else None

    @property
    def loop_root(self) -> str | None:
        """The loop store of this project: ``<loop_store>/<project>`` (log, labels, canary state, monitor memory)."""
        return f"{self.loop_store.rstrip('/')}/{self.project}" if self.loop_store else None

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
    def _fresh_rows_need_one_service_process(self) -> Settings:
        # features.fresh_online keeps the turn an entity's requests take from lookup to write in
        # the service process, and the entity's recent events in that process's one writer
        # (features/freshness.py): two workers would each write a row that lacks the other's
        # events. "auto" resolves to one worker then (service_workers).
        workers = self.serving.workers
        if self.features.fresh_online and workers != "auto" and workers > 1:
            raise ValueError(
                f"serving.workers: {workers} workers with features.fresh_online: each worker would write history "
                "rows missing the other workers' events; use 1 (or auto), or turn fresh_online off"
            )
        return self

    def service_workers(self, cpus: int | None) -> int:
        """The service's worker processes: one while fresh rows are written online, else ``serving.workers``."""
        return 1 if self.features.fresh_online else self.serving.worker_count(cpus)

    @model_validator(mode="after")
    def _gate_names_known_columns(self) -> Settings:
        schema = self.schema_
        described = {*schema.numeric, *schema.categorical, *schema.sensitive}
        for name, spec in self.gate.slices.items():
            if spec.column not in described:
                raise ValueError(f"gate.slices.{name}: {spec.column!r} is not a column of the schema")
            if spec.bins is not None and spec.column not in schema.numeric:
                raise ValueError(f"gate.slices.{name}: bins given, but {spec.column!r} is not a numeric column")
        for column in self.gate.behaviour.increasing:
            if column not in schema.numeric_features:
                raise ValueError(f"gate.behaviour.increasing.{column}: not a numeric feature column of the schema")
        for column in self.gate.behaviour.invariant:
            if column not in schema.described:
                raise ValueError(f"gate.behaviour.invariant: {column!r} is not a column of the schema")
        return self

    @model_validator(mode="after")
    def _monitoring_names_model_features(self) -> Settings:
        features = {*self.schema_.feature_columns, *self.features.engineered_names}
        for column in self.monitoring.trigger.critical_features:
            if column not in features:
                raise ValueError(f"monitoring.trigger.critical_features: {column!r} is not a feature of the model")
        for column in self.monitoring.drift.per_feature:
            if column not in features:
                raise ValueError(f"monitoring.drift.per_feature.{column}: not a feature of the model")
        for column in self.monitoring.simulation.columns:
            if column not in self.schema_.feature_columns:
                raise ValueError(f"monitoring.simulation.columns: {column!r} is not a feature column of the schema")
        return self

    def source(self, key: str) -> str:
        """Where a setting comes from, as "<params file> <dotted key>": what a refusal names."""
        return f"{shown_path(self.params_file)} {key}"

    @property
    def replay_weeks(self) -> int:
        """How many of the latest weeks of your file are held back and replayed as traffic."""
        if self.data.replay_weeks is not None:
            return self.data.replay_weeks
        simulation = self.monitoring.simulation
        return simulation.normal_weeks + simulation.drift_weeks + 1

    @model_validator(mode="after")
    def _holdout_leaves_training_data(self) -> Settings:
        if self.data.source == "synthetic" and self.training.holdout_weeks >= self.data.history_weeks:
            raise ValueError(
                f"training.holdout_weeks ({self.training.holdout_weeks}) must be smaller than "
                f"data.history_weeks ({self.data.history_weeks})"
            )
        return self

    def overridden(self, overrides: Mapping[str, Any]) -> Settings:
        """These settings with dotted keys replaced (``{"gate.min_improvement": 0.0}``), validated again."""
        tree = self.model_dump(mode="json", by_alias=True)
        for key, value in overrides.items():
            _set_dotted(tree, key, value)
        try:
            return Settings.model_validate(tree)
        except ValidationError as exc:
            raise SettingsError(_format_errors(exc, self.params_file)) from None

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


def shown_path(path: Path) -> str:
    """A path as a person would type it here: relative to the working folder or the project, if inside."""
    for base in (Path.cwd(), PROJECT_ROOT):
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


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
