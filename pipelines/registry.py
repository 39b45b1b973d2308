"""The MLflow model registry, with aliases (MLflow 3), not stages.

* ``champion``: the version that serves.
* ``challenger``: a version that passed the gate and waits for the canary.
* ``previous``: the champion before the last promotion, kept for instant rollback.

A version is created only for a candidate that passed the gate, and carries its
lineage as tags: training run, data and feature versions, feature service and views,
git commit, a digest of the settings that produced it, and the gate's verdict.
"""

from __future__ import annotations

import hashlib
import json

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from core.settings import Settings
from serving.runtime import CHALLENGER, CHAMPION, PREVIOUS, load_alias

# The alias names and the loader are the serving side's: one definition for both.
__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "PREVIOUS",
    "aliases",
    "client",
    "load_alias",
    "register",
    "set_alias",
    "settings_digest",
]


def client(settings: Settings) -> MlflowClient:
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def settings_digest(settings: Settings) -> str:
    """A short digest of everything that shapes a model: data, contract, features, training."""
    shaping = settings.model_dump(mode="json", include={"data", "schema_", "features", "training"})
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:16]


def register(settings: Settings, model_uri: str, run_id: str, tags: dict[str, str], alias: str | None) -> str:
    """Create a registry version for a logged model, tag it, and point ``alias`` at it (if given).

    The pipeline registers without an alias, then sets one only once the governance
    policy has passed (``set_alias``).
    """
    registry = client(settings)
    name = settings.mlflow.registered_model
    try:
        registry.get_registered_model(name)
    except MlflowException:
        registry.create_registered_model(name, description="Probability that a loan applicant defaults.")
    model_id = model_uri.removeprefix("models:/")
    version = registry.create_model_version(name, source=model_uri, run_id=run_id, tags=tags, model_id=model_id)
    if alias is not None:
        registry.set_registered_model_alias(name, alias, str(version.version))
    return str(version.version)


def set_alias(settings: Settings, alias: str, version: str) -> None:
    client(settings).set_registered_model_alias(settings.mlflow.registered_model, alias, version)


def aliases(settings: Settings) -> dict[str, str]:
    """alias -> version, for everything currently aliased."""
    registry = client(settings)
    try:
        model = registry.get_registered_model(settings.mlflow.registered_model)
    except MlflowException:
        return {}
    return {alias: str(version) for alias, version in model.aliases.items()}
