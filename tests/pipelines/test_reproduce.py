"""Reproducing a version trained under the team profile keeps every store in its temporary workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import load_settings
from features.store import repo_config
from pipelines.steps.reproduce import workspace_settings
from tests.infra.test_profiles import TEAM_ENV

pytestmark = pytest.mark.unit


def test_a_team_trained_version_is_restored_with_local_stores(workspace: Path, tmp_path: Path) -> None:
    trained = load_settings(workspace / "params.yaml", environ=TEAM_ENV)
    recorded = trained.model_dump(mode="json", by_alias=True)  # what the run's settings.json holds
    assert recorded["features"]["store_config"] == "feature_store.team.yaml" and recorded["loop_store"]
    restored = workspace_settings(recorded, tmp_path / "restore")
    config = repo_config(restored, environ={})  # no team variables needed: nothing shared is named
    assert config.registry.path == str(tmp_path / "restore" / ".state" / "feast" / "registry.db")
    assert config.online_store.type == "sqlite" and config.online_store.path.startswith(str(tmp_path / "restore"))
    assert restored.tracking_uri.startswith(f"sqlite:///{tmp_path / 'restore'}")
    assert restored.prefect.api_url is None and restored.dvc.remote is None and restored.loop_store is None
    # What is reproduced is the recorded run's: data, features, training.
    assert restored.features.model_dump(exclude={"store_config"}) == trained.features.model_dump(
        exclude={"store_config"}
    )
    assert restored.training == trained.training and restored.schema_ == trained.schema_
