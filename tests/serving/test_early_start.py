"""A service started before any model is champion (as the loop starts it) serves once one is named."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from core import registry
from serving.schema import request_bodies
from tests.serving.conftest import Server, prepare_workspace, register_model

pytestmark = pytest.mark.e2e


def test_a_service_started_before_the_first_champion_becomes_ready_when_the_alias_is_set(tmp_path: Path) -> None:
    settings, frame = prepare_workspace(tmp_path)
    version = register_model(settings, frame, alias=None)  # registered, not yet champion: governance reviews it
    server = Server(settings)
    try:
        server.wait_until("/healthz", 200)
        assert httpx.get(server.url + "/readyz").status_code == 503  # up, not ready: nothing to serve yet
        registry.set_alias(settings, registry.CHAMPION, version)
        server.wait_until("/readyz", 200, seconds=30)
        (body,) = request_bodies(frame, settings.schema_, 1)
        answer = httpx.post(server.url + "/predict", json=body, timeout=30)
        assert answer.status_code == 200 and answer.json()["model_version"] == version, answer.text
    finally:
        server.stop()
