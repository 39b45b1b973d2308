"""Profiles: the same params.yaml, and where state lives is chosen by configuration alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.environment import tool_environment
from core.settings import PROFILES_DIR, SettingsError, load_settings
from features.store import repo_config

pytestmark = pytest.mark.unit

TEAM_ENV = {
    "MLOPS_PROFILE": "team",
    "MLFLOW_TRACKING_URI": "http://127.0.0.1:5999",
    "PREFECT_API_URL": "http://127.0.0.1:4299/api",
    "FEAST_REGISTRY_URL": "postgresql+psycopg://feast:secret@127.0.0.1:5432/feast",
    "FEAST_REDIS_CONNECTION": "127.0.0.1:6379,password=secret",
    "MLOPS_DVC_REMOTE": "s3://mlops/dvc",
    "MLOPS_LOOP_STORE": "s3://mlops/loop",
}


def test_the_default_profile_is_local_and_embedded(workspace: Path) -> None:
    settings = load_settings(workspace / "params.yaml", environ={})
    assert settings.profile == "local"
    assert settings.tracking_uri.startswith("sqlite:////") and settings.prefect.api_url is None
    assert settings.dvc.remote is None and settings.features.store_config == "feature_store.yaml"
    assert settings.loop_store is None  # the prediction log and labels: files under data/
    config = repo_config(settings, environ={})
    assert config.registry.path == str(settings.feast_dir / "registry.db")
    assert config.online_store.type == "sqlite"


def test_the_team_profile_points_every_store_at_a_server(workspace: Path) -> None:
    settings = load_settings(workspace / "params.yaml", environ=TEAM_ENV)
    assert settings.profile == "team" and settings.tracking_uri == "http://127.0.0.1:5999"
    assert settings.artifact_location is None  # the MLflow server decides where artifacts go
    assert settings.prefect.api_url == "http://127.0.0.1:4299/api" and settings.dvc.remote == "s3://mlops/dvc"
    assert settings.loop_store == "s3://mlops/loop"  # the prediction log and labels: shared
    config = repo_config(settings, environ=TEAM_ENV)
    assert config.registry.registry_type == "sql" and config.registry.path == TEAM_ENV["FEAST_REGISTRY_URL"]
    assert config.online_store.type == "redis"
    assert config.online_store.connection_string == TEAM_ENV["FEAST_REDIS_CONNECTION"]
    tools = tool_environment(settings)  # what the service and the CLIs get
    assert tools["MLOPS_PROFILE"] == "team" and tools["FEAST_FS_YAML_FILE_PATH"].endswith("feature_store.team.yaml")


def test_the_profile_can_be_chosen_in_the_file_or_on_the_command_line(workspace: Path) -> None:
    env = {k: v for k, v in TEAM_ENV.items() if k != "MLOPS_PROFILE"}
    assert load_settings(workspace / "params.yaml", {"profile": "team"}, environ=env).profile == "team"
    text = (workspace / "params.yaml").read_text().replace("profile: local", "profile: team")
    (workspace / "params.yaml").write_text(text)
    assert load_settings(workspace / "params.yaml", environ=env).profile == "team"


def test_the_team_profile_without_its_servers_fails_naming_what_is_missing(workspace: Path) -> None:
    partial = {"MLOPS_PROFILE": "team", "MLFLOW_TRACKING_URI": "http://127.0.0.1:5999"}
    with pytest.raises(SettingsError) as error:
        load_settings(workspace / "params.yaml", environ=partial)
    message = str(error.value)
    assert "PREFECT_API_URL" in message and "FEAST_REDIS_CONNECTION" in message
    assert "MLFLOW_TRACKING_URI" not in message


def test_an_unknown_profile_names_the_known_ones(workspace: Path) -> None:
    with pytest.raises(SettingsError, match=r"no profile named 'cloud'.*local, team"):
        load_settings(workspace / "params.yaml", environ={"MLOPS_PROFILE": "cloud"})
    with pytest.raises(SettingsError, match="not a profile name"):
        load_settings(workspace / "params.yaml", environ={"MLOPS_PROFILE": "../params"})


def test_a_feast_variable_left_unset_is_named(workspace: Path) -> None:
    settings = load_settings(workspace / "params.yaml", environ=TEAM_ENV)
    env = {k: v for k, v in TEAM_ENV.items() if k != "FEAST_REDIS_CONNECTION"}
    with pytest.raises(KeyError, match="FEAST_REDIS_CONNECTION"):
        repo_config(settings, environ=env)


def test_profiles_hold_configuration_only() -> None:
    """A profile may set keys of params.yaml and name environment variables; nothing else."""
    import yaml

    for path in PROFILES_DIR.glob("*.yaml"):
        profile = yaml.safe_load(path.read_text())
        assert set(profile) == {"settings", "environment"}, path
        assert all(name.isupper() for name in profile["environment"]), path


def test_two_projects_under_one_set_of_exports_keep_their_state_apart(workspace: Path, tmp_path: Path) -> None:
    """A team shares one stack and one environment: each params file's `project` namespaces what it writes."""
    import shutil

    from core import loop_store
    from core.settings import PROJECT_ROOT
    from features.versioning import open_repo

    churn = tmp_path / "churn"
    churn.mkdir()
    shutil.copy(PROJECT_ROOT / "examples" / "churn" / "params.yaml", churn / "params.yaml")
    lender, other = (load_settings(folder / "params.yaml", environ=TEAM_ENV) for folder in (workspace, churn))
    assert (lender.project, other.project) == ("credit_risk", "churn")
    # The Feast project, for the SDK and for the feast CLI (its yaml reads MLOPS_PROJECT, `make env` exports it).
    assert [repo_config(s, environ=TEAM_ENV).project for s in (lender, other)] == ["credit_risk", "churn"]
    assert [tool_environment(s)["MLOPS_PROJECT"] for s in (lender, other)] == ["credit_risk", "churn"]
    # The loop store: each project's log, labels, canary state and monitor memory in a folder of its own.
    assert [loop_store.filesystem(s)[1] for s in (lender, other)] == ["mlops/loop/credit_risk", "mlops/loop/churn"]
    assert loop_store.location(other, loop_store.CANARY_STATE) == "s3://mlops/loop/churn/serving/canary_state.json"
    # The DVC remote: each project pushes to a folder of its own (a `dvc gc --cloud` stays in it).
    with open_repo(lender) as repo:
        assert repo.config["remote"]["shared"]["url"] == "s3://mlops/dvc/credit_risk"
    assert (lender.deployment, other.deployment) == ("credit_risk", "churn")  # training-pipeline/<project>


def test_mlflow_names_left_out_are_the_projects_own(workspace: Path) -> None:
    import yaml

    tree = yaml.safe_load((workspace / "params.yaml").read_text())
    tree["project"] = "fraud_scores"
    del tree["mlflow"]["experiment"], tree["mlflow"]["registered_model"]
    (workspace / "params.yaml").write_text(yaml.safe_dump(tree))
    settings = load_settings(workspace / "params.yaml", environ={})
    assert (settings.mlflow.experiment, settings.mlflow.registered_model) == ("fraud-scores", "fraud-scores")
    assert settings.overridden({"gate.dry_run": True}).mlflow.registered_model == "fraud-scores"
    with pytest.raises(SettingsError, match="project"):
        load_settings(workspace / "params.yaml", {"project": "Fraud Scores"}, environ={})
