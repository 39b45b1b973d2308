"""A pod pinned to a registry version (serving.model_version, MLOPS_MODEL_VERSION) over real HTTP.

In a cluster Argo Rollouts does the canary between pod templates, each pinned to a
version: the pinned service answers with that version whatever the aliases and the
local canary state say, and stays unready, saying why, when the version does not exist.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from core import registry
from core.settings import Settings
from serving.canary import CanaryState, write_state
from tests.serving.conftest import Server, prepare_workspace, register_model
from tests.serving.test_serving_schema import GOOD

pytestmark = pytest.mark.e2e


def pinned_server(settings: Settings, version: str) -> Server:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLOPS_MODEL_VERSION", version)  # as the pod template's env sets it
        return Server(settings)


def predict(server: Server) -> httpx.Response:
    return httpx.post(
        server.url + "/predict", content=json.dumps(GOOD), headers={"content-type": "application/json"}, timeout=30
    )


@pytest.fixture(scope="module")
def registry_of_two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, str, str]]:
    """v1 registered without an alias, then v2 made champion: the aliases point away from v1."""
    settings, frame = prepare_workspace(tmp_path_factory.mktemp("pinned"))
    first = register_model(settings, frame, None)
    second = register_model(settings, frame, registry.CHAMPION)
    yield settings, first, second


def test_a_pinned_service_answers_with_its_version_whatever_the_aliases_and_canary_state(
    registry_of_two: tuple[Settings, str, str],
) -> None:
    settings, first, second = registry_of_two
    assert registry.alias_version(settings, registry.CHAMPION) == second
    server = pinned_server(settings, first)
    try:
        server.wait_until("/readyz", 200)
        described = httpx.post(server.url + "/canary", timeout=10).json()
        assert described["pinned_version"] == first and described["champion_version"] == first
        assert described["challenger_version"] is None and "pinned" in described["note"]
        answer = predict(server)
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_version"] == first and answer.headers["x-model-version"] == first

        # The local canary (a challenger at full weight) is not this pod's business.
        registry.set_alias(settings, registry.CHALLENGER, second)
        write_state(settings, CanaryState(second, 100, False, "step 4"))
        time.sleep(1.0)  # four times the watcher's period
        assert {predict(server).json()["model_version"] for _ in range(10)} == {first}
        assert httpx.post(server.url + "/canary", timeout=10).json()["challenger_version"] is None
    finally:
        server.stop()
        registry.delete_alias(settings, registry.CHALLENGER)


def test_a_pin_to_a_version_that_does_not_exist_keeps_the_service_unready_and_says_why(
    registry_of_two: tuple[Settings, str, str],
) -> None:
    settings, _, _ = registry_of_two
    server = pinned_server(settings, "99")
    try:
        server.wait_until("/livez", 200)
        time.sleep(1.0)
        assert httpx.get(server.url + "/readyz", timeout=10).status_code == 503
        described = httpx.post(server.url + "/canary", timeout=10).json()
        assert described["pinned_version"] == "99" and described["champion_version"] is None
        assert "v99 cannot be loaded" in described["note"], described
        assert predict(server).status_code == 503  # the champion alias (v2) does not stand in
        assert "v99 cannot be loaded" in server.log.read_text()
    finally:
        server.stop()


def test_the_pin_comes_from_the_environment_and_is_checked(registry_of_two: tuple[Settings, str, str]) -> None:
    from core.settings import SettingsError, load_settings

    settings, first, _ = registry_of_two
    assert load_settings(settings.params_file, environ={"MLOPS_MODEL_VERSION": first}).serving.model_version == first
    assert load_settings(settings.params_file, environ={}).serving.model_version is None
    with pytest.raises(SettingsError, match="model_version"):
        load_settings(settings.params_file, environ={"MLOPS_MODEL_VERSION": "champion"})
