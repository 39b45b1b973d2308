"""Data Docs offline: every suite keeps its page, and no page loads anything from outside the site."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from core.settings import Settings
from core.synthetic import LenderConfig, generate_week
from features import data_docs
from features.validation import validate_batch, validate_feature_table, validate_served_window

pytestmark = pytest.mark.data

# A resource the browser fetches on its own (not a link someone clicks).
LOADS = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(https?://[^"]+)"', re.IGNORECASE)


def _require_assets() -> None:
    if not data_docs.assets_installed():
        if shutil.which("npm") is None:
            pytest.skip("no npm on this machine: the Data Docs assets cannot be installed (make setup)")
        pytest.fail(f"the Data Docs assets are not installed in {data_docs.ASSETS}: run make setup")


def _templates() -> Path:
    import great_expectations

    return Path(great_expectations.__file__).parent / "render" / "view" / "templates"


def test_every_address_gx_pages_load_has_a_local_copy_of_the_same_version() -> None:
    """A GX upgrade that loads something new (or another version) fails here, not in a classroom."""
    asked = set()
    for template in _templates().glob("*.j2"):
        asked |= {url for url in LOADS.findall(template.read_text()) if "{{" not in url}
    assert asked, "no CDN address found in GX's templates: the pattern needs a look"
    assert asked <= set(data_docs.CDN_FILES), sorted(asked - set(data_docs.CDN_FILES))
    _require_assets()
    for url, source in data_docs.CDN_FILES.items():
        parts = source.split("/")
        package = "/".join(parts[:2] if source.startswith("@") else parts[:1])
        installed = json.loads((data_docs.ASSETS / package / "package.json").read_text())["version"]
        asked_version = re.search(r"(?:@|/|-)(\d+(?:\.\d+)*)(?:/|\.min|$)", url.split("//", 1)[1])
        assert asked_version is not None, url
        wanted = asked_version.group(1)
        assert installed == wanted or installed.startswith(f"{wanted}."), (url, installed)


def test_each_suite_keeps_its_page_and_the_pages_load_nothing_from_outside(settings: Settings) -> None:
    _require_assets()
    batch = generate_week(LenderConfig(applications_per_week=400, customers=800), 2)
    assert validate_batch(batch, settings, "week_a").success
    served = batch[[*settings.schema_.numeric, *settings.schema_.categorical]]
    assert validate_served_window(served, settings, "window_a").success
    table = pd.DataFrame({settings.schema_.entity: [1], settings.schema_.timestamp: [pd.Timestamp("2026-01-01")]})
    validate_feature_table(table, settings, "history", expected_rows=1)  # fails: no feature columns; still a page
    assert validate_batch(batch, settings, "week_b").success

    site = data_docs.site_dir(settings)
    pages = {p.name for p in (site / "expectations").glob("*.html")}
    assert pages == {"raw_batch.html", "served_window.html", "feature_table.html"}
    validations = list((site / "validations").rglob("*.html"))
    assert len(validations) == 4
    for page in [site / "index.html", *validations, *(site / "expectations").glob("*.html")]:
        outside = LOADS.findall(page.read_text())
        assert not outside, (page.relative_to(site), outside)
        for local in re.findall(r'(?:src|href)="((?:\.\./)*static/vendor/[^"]+)"', page.read_text()):
            assert (page.parent / local).resolve().is_file(), (page.relative_to(site), local)
    css = (site / "static" / "styles" / "data_docs_default_styles.css").read_text()
    assert "https://" not in css
    # The index lists every validation (its table is data for the script that now loads).
    index = (site / "index.html").read_text()
    assert all(name in index for name in ("week_a", "week_b", "window_a", "history"))


def test_without_the_local_copy_pages_are_left_as_gx_wrote_them(settings: Settings, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    page = site / "index.html"
    original = '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
    page.write_text(original)
    done = data_docs.localize(site, assets=tmp_path / "no-node-modules")
    assert done.skipped and page.read_text() == original


def test_an_address_with_no_local_copy_is_reported(tmp_path: Path) -> None:
    _require_assets()
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>'
        '<script src="https://cdn.example.invalid/new-library.js" integrity="sha384-x" crossorigin></script>'
    )
    done = data_docs.localize(site)
    assert done.unknown == {"https://cdn.example.invalid/new-library.js"}
    text = (site / "index.html").read_text()
    assert 'href="static/vendor/bootstrap/dist/css/bootstrap.min.css"' in text
