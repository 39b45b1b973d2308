from pathlib import Path

import pytest

from core.settings import SettingsError, load_settings, parse_overrides
from tests.conftest import write_params

pytestmark = pytest.mark.unit


def test_the_shipped_params_file_is_valid() -> None:
    settings = load_settings()
    assert settings.data.scenario == "none"
    assert settings.state.name == ".state"
    assert settings.tracking_uri.startswith("sqlite:////")  # absolute path: four slashes


@pytest.mark.parametrize(
    ("section", "values", "named"),
    [
        ("training", {"holdout_weeks": -1}, "training.holdout_weeks"),
        ("data", {"scenario": "earthquake"}, "data.scenario"),
        ("data", {"applications_per_week": "many"}, "data.applications_per_week"),
        ("data", {"start_date": "2026-01-06"}, "is not a Monday"),
        ("validation", {"label_rate": {"min": 0.1, "max": 3}}, "validation.label_rate.max"),
        ("training", {"typo_knob": 1}, "training.typo_knob"),
        ("serving", {"workers": "many"}, "serving.workers"),
    ],
)
def test_a_bad_value_fails_naming_its_key(tmp_path: Path, section: str, values: dict[str, object], named: str) -> None:
    with pytest.raises(SettingsError) as failure:
        load_settings(write_params(tmp_path, **{section: values}))
    assert named in str(failure.value)


def test_a_bad_schema_column_range_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"schema\.numeric\.age: .*min \(200.0\) is greater than max"):
        load_settings(write_params(tmp_path), {"schema.numeric.age.min": 200})


def test_command_line_overrides_are_typed_and_validated(tmp_path: Path) -> None:
    path = write_params(tmp_path)
    overrides = parse_overrides(["data.scenario=covariate_shift", "data.history_weeks=8"])
    settings = load_settings(path, overrides)
    assert settings.data.scenario == "covariate_shift"
    assert settings.data.history_weeks == 8
    with pytest.raises(SettingsError, match=r"data\.history_weeks"):
        load_settings(path, parse_overrides(["data.history_weeks=two"]))
    with pytest.raises(SettingsError, match="key=value"):
        parse_overrides(["data.scenario"])


def test_environment_overrides_only_endpoints_and_state(tmp_path: Path) -> None:
    path = write_params(tmp_path)
    env = {"MLOPS_STATE_DIR": str(tmp_path / "elsewhere"), "MLFLOW_TRACKING_URI": "http://127.0.0.1:5999"}
    settings = load_settings(path, environ=env)
    assert settings.state == tmp_path / "elsewhere"
    assert settings.tracking_uri == "http://127.0.0.1:5999"
    assert settings.artifact_location is None  # a tracking server keeps its own artifacts
    local = load_settings(path, environ={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/m.db"})
    assert local.artifact_location == (local.state / "mlflow" / "artifacts").as_uri()


def test_relative_paths_resolve_against_the_params_file(tmp_path: Path) -> None:
    settings = load_settings(write_params(tmp_path))
    assert settings.root == tmp_path.resolve()
    assert settings.raw_dir == tmp_path.resolve() / "data" / "raw"


def test_the_sensitive_attribute_is_never_a_feature() -> None:
    schema = load_settings().schema_
    assert "gender" not in schema.feature_columns
    assert {schema.entity, schema.label, schema.timestamp}.isdisjoint(schema.feature_columns)


def test_missing_and_malformed_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "nope.yaml")
    (tmp_path / "broken.yaml").write_text("data: [unclosed")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(tmp_path / "broken.yaml")


def test_keeping_duplicate_events_needs_a_tie_breaker(tmp_path: Path) -> None:
    keep = {"duplicate_events": {"action": "keep"}}
    assert load_settings(write_params(tmp_path, schema=keep)).schema_.tie_breaker == "application_id"
    with pytest.raises(SettingsError, match="tie_breaker"):
        load_settings(write_params(tmp_path, schema={**keep, "record_id": None}))
    with pytest.raises(SettingsError, match="duplicate_events"):
        load_settings(write_params(tmp_path, schema={"duplicate_events": {"action": "drop"}}))


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"gate.slices": {"band": {"column": "shoe_size"}}}, "gate.slices.band: 'shoe_size'"),
        ({"gate.slices": {"r": {"column": "region", "bins": [0, 1]}}}, "gate.slices.r: bins given"),
        ({"gate.behaviour.invariant": ["shoe_size"]}, "gate.behaviour.invariant: 'shoe_size'"),
        ({"gate.behaviour.increasing": {"shoe_size": 0.1}}, "gate.behaviour.increasing.shoe_size"),
        ({"features.history": {"shoe_size": ["mean"]}}, "features.history.shoe_size"),
        (
            {"features.ratios": {"r": {"numerator": "shoe_size", "denominator": "age"}}},
            "features.ratios.r: 'shoe_size'",
        ),
        ({"monitoring.trigger.critical_features": ["shoe_size"]}, "critical_features: 'shoe_size'"),
        ({"monitoring.drift.per_feature": {"shoe_size": {"method": "psi"}}}, "per_feature.shoe_size"),
        ({"monitoring.simulation.columns": ["shoe_size"]}, "simulation.columns: 'shoe_size'"),
        ({"schema.sensitive_bands": {"age": [18, 40, 100]}}, "sensitive_bands.age: 'age' is not listed"),
        ({"schema.numeric.probability": {"min": 0, "max": 1}}, "the service's answer uses for itself"),
    ],
)
def test_a_key_naming_a_column_the_contract_lacks_fails_at_load(
    tmp_path: Path, override: dict[str, object], named: str
) -> None:
    """Issue 15: every key that names a column is checked against the contract when the file loads."""
    with pytest.raises(SettingsError) as failure:
        load_settings(write_params(tmp_path), override, environ={})
    assert named in str(failure.value)


def test_engineered_features_may_be_monitored_by_name(tmp_path: Path) -> None:
    settings = load_settings(write_params(tmp_path), {"monitoring.trigger.critical_features": ["loan_to_income"]})
    assert settings.monitoring.trigger.critical_features == ("loan_to_income",)


def test_auto_serving_workers_follow_the_cores_within_a_cap() -> None:
    from core.sections import ServingSettings

    assert [ServingSettings().worker_count(cpus) for cpus in (None, 1, 2, 64)] == [1, 1, 2, 4]
    assert ServingSettings(workers=3).worker_count(64) == 3


def test_fresh_online_rows_keep_the_service_to_one_process(tmp_path: Path) -> None:
    """Each worker would write history rows missing the others' events: auto gives one, more is refused by name."""
    assert load_settings(write_params(tmp_path), environ={}).service_workers(64) == 1
    off = load_settings(write_params(tmp_path, features={"fresh_online": False}), environ={})
    assert off.service_workers(2) == 2
    with pytest.raises(SettingsError, match=r"serving\.workers"):
        load_settings(write_params(tmp_path, serving={"workers": 2}), environ={})
