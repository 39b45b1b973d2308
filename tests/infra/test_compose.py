"""The team stack's compose file: valid against the Compose specification, healthy by
design (health checks, named volumes, loopback ports) and without default passwords.
Docker is not on this machine; the file is checked offline, and the stack's servers
themselves are exercised by the integration tier (tests/integration)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import PROFILES_DIR, PROJECT_ROOT
from tests.infra.conftest import schema_check

pytestmark = pytest.mark.unit

COMPOSE = PROJECT_ROOT / "infra" / "compose.yaml"
ENV_EXAMPLE = PROJECT_ROOT / "infra" / ".env.example"
ONE_SHOT = {"s3-bucket"}
REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(:?[?-])?[^}]*\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|ACCESS_KEY")


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def env_example() -> dict[str, str]:
    pairs = [
        line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"^[A-Z_][A-Z0-9_]*=", line)
    ]
    return {key: value for key, value in pairs}


def test_the_compose_file_matches_the_compose_specification(tmp_path: Path) -> None:
    checked = schema_check(COMPOSE, "vendor.compose-spec")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = compose()
    broken["services"]["redis"]["helthcheck"] = broken["services"]["redis"].pop("healthcheck")  # a typo
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump(broken))
    assert schema_check(tmp_path / "compose.yaml", "vendor.compose-spec").returncode != 0  # the check can fail


def test_the_stack_has_every_server_of_the_team_profile() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "s3", "mlflow", "prefect-server", "prefect-worker", "credit-service"} <= set(services)
    assert "postgresql+psycopg://" in " ".join(services["mlflow"]["command"])  # backend store
    assert "--artifacts-destination=s3://" in " ".join(services["mlflow"]["command"])
    assert "postgresql+asyncpg://" in services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]


def test_every_server_is_health_checked_on_named_volumes_and_published_on_loopback_only() -> None:
    spec = compose()
    services, volumes = spec["services"], set(spec["volumes"])
    for name, service in services.items():
        if name not in ONE_SHOT:
            assert "healthcheck" in service, f"{name} has no health check"
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        for mount in service.get("volumes", []):
            source = str(mount).split(":")[0]
            assert source.startswith("./") or source in volumes, f"{name} mounts undeclared {source}"


def test_no_credential_has_a_default_and_every_variable_is_documented() -> None:
    text = COMPOSE.read_text()
    documented = env_example()
    for variable, mode in REFERENCE.findall(text):
        assert variable in documented, f"{variable} is used by compose.yaml but not in .env.example"
        if SECRET_NAME.search(variable) or variable.endswith("_USER"):
            assert mode == ":?", f"${{{variable}}} must be required (:?), never defaulted"
    for name, value in documented.items():
        if SECRET_NAME.search(name):
            assert value == "", f".env.example gives {name} a value; credentials are never in the repo"
    # No literal user:password@ in any URL: credentials only by reference.
    assert not re.search(r"://[^$/\s]+:[^$/\s]+@", text)


def test_the_stack_gives_its_platform_processes_everything_the_team_profile_needs() -> None:
    required = yaml.safe_load((PROFILES_DIR / "team.yaml").read_text())["environment"]
    profile_env = compose()["x-team-profile"]
    assert set(required) <= set(profile_env) and profile_env["MLOPS_PROFILE"] == "team"
    assert set(required) <= set(env_example())
