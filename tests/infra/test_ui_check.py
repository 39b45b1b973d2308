"""The browser check refuses and reports every request that leaves the machine, and lets loopback through."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra import prefect_ui
from infra.ui_check import Page, is_local, visit_all

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:5000/#/experiments", True),
        ("http://localhost:8008/index.html", True),
        ("file:///tmp/story.html", True),
        ("data:image/png;base64,AAAA", True),
        ("https://api2.amplitude.com/2/httpapi", False),
        ("https://code.jquery.com/jquery-3.7.1.min.js", False),
        ("http://10.0.0.1/", False),
    ],
)
def test_only_loopback_and_local_schemes_count_as_local(url: str, local: bool) -> None:
    assert is_local(url) is local


def test_an_outside_request_is_refused_recorded_and_fails_the_page(tmp_path: Path) -> None:
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("no chromium on this machine: make setup-integration installs Debian's package")
    page = tmp_path / "page.html"
    page.write_text(
        '<html><body><h1>Offline page</h1><img src="https://cdn.example.invalid/logo.png">'
        '<script src="https://cdn.example.invalid/app.js"></script></body></html>'
    )
    clean = tmp_path / "clean.html"
    clean.write_text("<html><body><h1>Nothing from outside</h1></body></html>")
    visits = visit_all(
        [Page("outside", page.as_uri(), "Offline page"), Page("clean", clean.as_uri(), "Nothing from outside")],
        tmp_path / "shots",
        browser,
        wait_seconds=30,
    )
    outside, inside = visits
    assert not outside.ok and set(outside.outside) == {
        "https://cdn.example.invalid/logo.png",
        "https://cdn.example.invalid/app.js",
    }
    assert inside.ok and inside.screenshot is not None and inside.screenshot.read_bytes()[:4] == b"\x89PNG"


def test_the_v2_note_is_marked_as_prefects_current_copy(tmp_path: Path) -> None:
    import prefect
    from prefect.server.api import server

    folder = prefect_ui.prepare(tmp_path / "ui")
    assert "V2 UI is off" in (folder / "index.html").read_text()
    marker = (folder / server.UI_STATIC_REFERENCE_FILE_NAME).read_text()
    assert marker == f"v2:{prefect.__version__}:/v2"
