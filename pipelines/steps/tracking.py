"""Record a training run in MLflow: params, metrics, lineage tags and the model itself."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import skops.io
from mlflow.models import infer_signature

from core import registry
from core.settings import PROJECT_ROOT, Settings
from features.engineering import features_of
from monitoring.reference import PREDICTION, REFERENCE_FILE, REFERENCE_FOLDER
from pipelines.steps.gate import GateVerdict
from pipelines.steps.training import TrainedModel
from pipelines.steps.tuning import ScoredCandidate

# Where a run keeps the evidence governance reads (governance/evidence.py reads this folder).
EVIDENCE_FOLDER, DATA_VALIDATION_FILE = "governance", "data_validation.json"
# What a served copy of the model needs, pinned to what trained it. Passing these
# explicitly saves MLflow about 10 s a model of inferring them in a subprocess.
MODEL_REQUIREMENTS = ("scikit-learn", "pandas", "numpy", "scipy", "skops")
SCHEMA_ROWS = 10_000  # rows the training dataset's schema is read from, evenly spaced over it


def settings_digest(settings: Settings) -> str:
    """A short digest of everything that shapes a model: data, contract, features, training."""
    shaping = settings.model_dump(mode="json", include={"data", "schema_", "features", "training"})
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:16]


def pinned_requirements() -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in MODEL_REQUIREMENTS]


@dataclass(frozen=True)
class CodeVersion:
    commit: str
    dirty: bool


def code_version(root: Path = PROJECT_ROOT) -> CodeVersion:
    """The git commit of the code that trains, and whether the work tree had changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return CodeVersion(commit, dirty)


def use_experiment(settings: Settings) -> str:
    """Point MLflow at the configured store and make sure the experiment exists; return its id."""
    mlflow.set_tracking_uri(settings.tracking_uri)
    experiment = mlflow.get_experiment_by_name(settings.mlflow.experiment)
    if experiment is not None:
        registry.claimed_by_another(settings, dict(experiment.tags), "mlflow.experiment")
        return str(experiment.experiment_id)
    # An explicit artifact location keeps artifacts under the state folder, not ./mlruns.
    location = settings.artifact_location
    # The kind makes the MLflow UI open on training runs rather than its GenAI views; the
    # project tag keeps another project's params from logging into it on a shared server.
    tags = {"mlflow.experimentKind": "custom_model_development", registry.PROJECT_TAG: settings.project}
    return str(mlflow.create_experiment(settings.mlflow.experiment, artifact_location=location, tags=tags))


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    model_uri: str
    experiment_id: str


FLOW_RUN_TAG = "prefect_flow_run_id"


def prefect_lineage() -> dict[str, str]:
    """The Prefect flow run this training runs in, if any: MLflow run and Prefect run point at each other.

    It is also how a retraining run elsewhere (a deployment on a worker) is found again:
    the monitor that started it reads its registration back by this tag.
    """
    from prefect.runtime import flow_run

    found = flow_run.get_id()
    return {FLOW_RUN_TAG: str(found)} if found else {}


def log_training_run(
    settings: Settings,
    trained: TrainedModel,
    *,
    data_version: str,
    training_frame: pd.DataFrame,
    extra_tags: dict[str, str] | None = None,
    candidates: Sequence[ScoredCandidate] = (),
    data_source: str | None = None,
    run_name: str | None = None,
    data_validation: dict[str, Any] | None = None,
) -> LoggedRun:
    """Log one finished training as an MLflow run, with everything needed to trace it back.

    ``run_name`` says what the run is in the MLflow UI (``train week 12``, ``retrain after
    window 3 (covariate_shift)``); MLflow draws a random one without it.

    Each tuning candidate becomes a nested run under it, with its params and its
    validation metrics; the parent holds the chosen model, its holdout metrics, and
    the resolved settings (``settings.json``) from which it can be reproduced.
    ``data_source`` names where the training data came from (default: the raw store).
    ``data_validation`` is the evidence that data passed its contract (each batch's
    validation record, ``features/validation.py``); governance reads it from the run.
    """
    trusted = trusted_types(trained.model)  # before anything is logged: an unreviewed type stops here
    experiment_id = use_experiment(settings)
    schema = settings.schema_
    code = code_version()
    tags = {
        "data_version": data_version,
        "data_source": settings.data.source,
        "data_scenario": settings.data.scenario,
        "git_commit": code.commit,
        "git_dirty": str(code.dirty).lower(),
        "model_family": trained.family,
        "params_digest": settings_digest(settings),
        **prefect_lineage(),
        **(extra_tags or {}),
    }
    example = features_of(trained.split.holdout, trained.columns).head(5)
    with mlflow.start_run(experiment_id=experiment_id, tags=tags, run_name=run_name) as run:
        mlflow.log_params(
            {
                "model_family": trained.family,
                **{f"{trained.family}.{k}": v for k, v in trained.params.items()},
                "holdout_weeks": settings.training.holdout_weeks,
                "holdout_start": f"{trained.split.holdout_start:%Y-%m-%d}",
                "decision_threshold": settings.training.decision_threshold,
                "seed": settings.training.seed,
                "n_features": len(trained.columns.all),
                **search_params(settings, candidates),
            }
        )
        mlflow.log_metrics(trained.metrics)
        # What reproduction needs, losslessly (params above are strings): see pipelines/reproduce.py.
        mlflow.log_dict(settings.model_dump(mode="json", by_alias=True), "settings.json")
        mlflow.log_dict({"family": trained.family, "params": trained.params}, "model_params.json")
        for number, scored in enumerate(candidates, start=1):
            name = f"candidate {number:02d} {scored.candidate.family}"
            with mlflow.start_run(run_name=name, nested=True, experiment_id=experiment_id):
                mlflow.set_tags(
                    {
                        "candidate": scored.candidate.label,
                        "model_family": scored.candidate.family,
                        "eligible": str(scored.eligible).lower(),
                    }
                )
                mlflow.log_params({"model_family": scored.candidate.family, **scored.candidate.params})
                mlflow.log_metrics({f"validation_{k}": v for k, v in scored.metrics.items()})
                mlflow.log_metric("fit_seconds", scored.seconds)
                if scored.fit_rows is not None:
                    mlflow.log_metric("fit_rows", scored.fit_rows)
        if candidates:
            mlflow.log_metric("candidates", len(candidates))
        with warnings.catch_warnings():
            # MLflow registers two local-file source classes of the same name and warns
            # that it picked one; either is right for a local folder.
            warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
            # The integer hint is about model signatures; this is the dataset's profile.
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
            dataset = mlflow.data.from_pandas(
                training_frame,
                source=data_source or settings.raw_dir.as_uri(),
                targets=schema.label,
                name="raw",
                digest=data_version.removesuffix(".dir")[:20],
            )
            # MLflow infers a dataset's schema value by value in Python (23 s at 1M rows, most of
            # log_training_run); evenly spaced rows give the same schema in a fraction of a second.
            dataset.schema = infer_signature(training_frame.iloc[:: max(1, len(training_frame) // SCHEMA_ROWS)]).inputs
            mlflow.log_input(dataset, context="training")
        if data_validation is not None:
            mlflow.log_dict(data_validation, f"{EVIDENCE_FOLDER}/{DATA_VALIDATION_FILE}")
        log_reference(trained, settings.schema_.label)
        logged = mlflow.sklearn.log_model(
            trained.model,
            name="model",
            signature=infer_signature(example, trained.model.predict_proba(example)[:, 1]),
            input_example=example,
            pip_requirements=pinned_requirements(),
            pyfunc_predict_fn="predict_proba",
            skops_trusted_types=trusted,
        )
        return LoggedRun(run.info.run_id, logged.model_uri, experiment_id)


def search_params(settings: Settings, candidates: Sequence[ScoredCandidate]) -> dict[str, Any]:
    """How many rows the search fitted its candidates on, beside its cap (the chosen model's are ``train_rows``)."""
    fitted = [c.fit_rows for c in candidates if c.fit_rows is not None]
    if not fitted:
        return {}
    cap = settings.training.search.max_rows
    return {"search_max_rows": "none" if cap is None else cap, "search_fit_rows": max(fitted)}


def log_reference(trained: TrainedModel, label: str) -> None:
    """The holdout as the model saw it, with its predictions: monitoring's reference window.

    Drift is judged against the data the model was last validated on, so the reference
    travels with the model version (monitoring/reference.py fetches it by version).
    """
    holdout = trained.split.holdout
    reference = features_of(holdout, trained.columns).assign(
        **{
            label: holdout[label].to_numpy(),
            PREDICTION: trained.model.predict_proba(features_of(holdout, trained.columns))[:, 1],
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / REFERENCE_FILE
        reference.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), REFERENCE_FOLDER)


# The types beyond skops' defaults that this project's models hold, each reviewed: skops loads
# only what is on its allow-list, and this list is that allow-list, kept in code and reviewed
# like code. A model holding anything else is refused before it is logged.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "numpy.dtype",  # dtypes of fitted arrays (every model)
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",  # gradient boosting's trees
    }
)


class UntrustedModelType(TypeError):
    """A fitted model holds a type that is neither skops' default nor on ``TRUSTED_TYPES``."""


def trusted_types(model: object) -> list[str]:
    """The reviewed types this model needs skops to trust; refuses, naming them, any type not reviewed."""
    needed = set(skops.io.get_untrusted_types(data=skops.io.dumps(model)))
    unknown = sorted(needed - TRUSTED_TYPES)
    if unknown:
        raise UntrustedModelType(
            f"the model holds types skops does not trust and nobody has reviewed: {', '.join(unknown)}; "
            "if they are safe to load, add them to TRUSTED_TYPES in pipelines/steps/tracking.py"
        )
    return sorted(needed)


def log_metric(settings: Settings, run_id: str, name: str, value: float) -> None:
    """Add one metric to a finished run."""
    registry.client(settings).log_metric(run_id, name, value)


def log_verdict(settings: Settings, run_id: str, verdict: GateVerdict) -> None:
    """Record the gate's verdict on the training run: a tag per outcome and the full rule list."""
    registry_client = registry.client(settings)
    registry_client.set_tag(run_id, "gate_verdict", "passed" if verdict.passed else "rejected")
    registry_client.set_tag(run_id, "gate_summary", verdict.summary()[:5000])
    registry_client.set_tag(run_id, "gate_dry_run", str(settings.gate.dry_run).lower())
    for name, value in verdict.champion_metrics.items():
        registry_client.log_metric(run_id, f"champion_{name}", value)
    registry_client.log_dict(
        run_id,
        {
            "passed": verdict.passed,
            "rules": [{"rule": r.rule, "passed": r.passed, "detail": r.detail} for r in verdict.rules],
        },
        "gate_verdict.json",
    )
