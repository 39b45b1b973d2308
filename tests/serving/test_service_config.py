"""What BentoML is told to do per request besides answering: by the settings, nothing unasked."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.util.http import ExcludeList

from core.settings import load_settings
from serving.service import build_service
from tests.conftest import write_params

pytestmark = pytest.mark.unit


def test_no_span_and_no_access_line_per_request_unless_asked(tmp_path: Path) -> None:
    quiet = build_service(load_settings(write_params(tmp_path)))
    assert quiet.config["logging"]["access"]["enabled"] is False
    excluded = ExcludeList(quiet.config["tracing"]["excluded_urls"])
    assert all(excluded.url_disabled(f"http://127.0.0.1:3000/{route}") for route in ("predict", "canary", "explain"))

    (tmp_path / "asked").mkdir()
    asked = build_service(
        load_settings(write_params(tmp_path / "asked", serving={"tracing": True, "access_log": True}))
    )
    assert asked.config["logging"]["access"]["enabled"] is True
    assert "excluded_urls" not in asked.config.get("tracing", {})
