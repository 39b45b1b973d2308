"""The MLflow model registry's primitives: the alias names, the one client, reading and moving an alias.

Aliases (MLflow 3), not stages:

* ``champion``: the version that serves.
* ``challenger``: a version that passed the gate and waits for the canary.
* ``previous``: the champion before the last promotion, kept for instant rollback.

Everything that talks to the registry builds its client here, so the tracking and
registry URIs are chosen in one place (``Settings.tracking_uri``). What a role means
(which policy a version must pass, what is audited) is governance's
(``governance/promotion.py``); this module only reads and writes the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.settings import Settings, SettingsError

if TYPE_CHECKING:
    from mlflow import MlflowClient

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"
# A version (and its run) made by a demo rather than by the pipeline, e.g. the canary demo's
# deliberately broken model; the value says what it demonstrates. The maturity assessment
# leaves such versions out: they show a failure on purpose, not how the team works.
DEMO_TAG = "demo"
# Which project a registered model (and an experiment) is: on a shared tracking server two
# projects' params files must not name the same one (Settings.project; infra/README.md, two teams).
PROJECT_TAG = "mlops.project"


def claimed_by_another(settings: Settings, tags: dict[str, str], key: str) -> None:
    """Refuse an MLflow object another project made: ``key`` names the setting that named it."""
    owner = tags.get(PROJECT_TAG)
    if owner is not None and owner != settings.project:
        raise SettingsError(
            f"{settings.source(key)}: on this tracking server it is project {owner!r}'s, and these settings are "
            f"project {settings.project!r}'s; give this project a name of its own"
        )


def client(settings: Settings) -> MlflowClient:
    """An MLflow client on the settings' tracking store, which is also the registry."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def alias_version(settings: Settings, alias: str) -> str | None:
    """The version behind ``alias``, or None when the alias (or the model) does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client(settings).get_model_version_by_alias(settings.mlflow.registered_model, alias).version)
    except MlflowException:
        return None


def aliases(settings: Settings) -> dict[str, str]:
    """alias -> version, for everything currently aliased."""
    from mlflow.exceptions import MlflowException

    try:
        model = client(settings).get_registered_model(settings.mlflow.registered_model)
    except MlflowException:
        return {}
    return {alias: str(version) for alias, version in model.aliases.items()}


def set_alias(settings: Settings, alias: str, version: str) -> None:
    client(settings).set_registered_model_alias(settings.mlflow.registered_model, alias, str(version))


def delete_alias(settings: Settings, alias: str) -> None:
    client(settings).delete_registered_model_alias(settings.mlflow.registered_model, alias)


def set_version_tags(settings: Settings, version: str, tags: dict[str, str]) -> None:
    registry, name = client(settings), settings.mlflow.registered_model
    for key, value in tags.items():
        registry.set_model_version_tag(name, str(version), key, value[:5000])


def version_tags(settings: Settings, version: str) -> dict[str, str]:
    return dict(client(settings).get_model_version(settings.mlflow.registered_model, str(version)).tags)


def register(settings: Settings, model_uri: str, run_id: str, tags: dict[str, str], alias: str | None = None) -> str:
    """Create a registry version for a logged model, tag it, and point ``alias`` at it (if given).

    The training pipeline registers without an alias and lets governance give the role
    once the policy has passed (``governance/promotion.py``).
    """
    from mlflow.exceptions import MlflowException

    registry, name = client(settings), settings.mlflow.registered_model
    try:
        existing = registry.get_registered_model(name)
    except MlflowException:
        registry.create_registered_model(
            name, description=settings.mlflow.description, tags={PROJECT_TAG: settings.project}
        )
    else:  # made by this project (or before projects were tagged): versions go on it
        claimed_by_another(settings, dict(existing.tags), "mlflow.registered_model")
    model_id = model_uri.removeprefix("models:/")
    version = registry.create_model_version(name, source=model_uri, run_id=run_id, tags=tags, model_id=model_id)
    if alias is not None:
        set_alias(settings, alias, str(version.version))
    return str(version.version)
