"""Great Expectations Data Docs that work offline: GX's own page assets from a local copy.

GX's page templates load jQuery, Bootstrap, the bootstrap-table plugin, Font Awesome,
the datepicker and Vega from public CDNs, and its logo from a bucket. Offline, the
index's table of validations is built by a script that never loads (``$ is not
defined``), so no result can be reached, and the pass/fail icons are blank.

``make setup`` installs the same libraries, at the versions the pages ask for, from the
npm registry into ``features/docs_assets/node_modules``. After GX writes the site,
``localize`` copies the files the pages use into the site (``static/vendor/``) and points
the pages at them, so the site folder is complete on its own and ``make data-docs``
serves it with no network. Without the local copy (no npm), pages are left as GX wrote
them, which still works online.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.settings import PROJECT_ROOT, Settings, load_settings

logger = logging.getLogger(__name__)

ASSETS = PROJECT_ROOT / "features" / "docs_assets" / "node_modules"
VENDOR = Path("static") / "vendor"

# Every address GX 1.x's templates load, and the file of the npm package (installed from
# features/docs_assets/package.json at the same version) that stands in for it.
CDN_FILES: dict[str, str] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js/dist/umd/popper.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/dist/js/bootstrap.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/dist/css/bootstrap.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table/dist/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table/dist/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table-1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table-1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker/dist/js/bootstrap-datepicker.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "@forevolve/bootstrap-dark/dist/css/bootstrap-prefers-dark.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "@fortawesome/fontawesome-free/css/all.min.css"
    ),
    # jsDelivr serves a package's "jsdelivr" file for a bare name: the minified build.
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed/build/vega-embed.min.js",
}
# Folders a stylesheet reaches by relative URL (Font Awesome's icon fonts).
FOLDERS: tuple[str, ...] = ("@fortawesome/fontawesome-free/webfonts",)
# GX's logo comes from its bucket; the same images are in the site's static/images.
IMAGES = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
LOCAL_IMAGES = Path("static") / "images"
STYLESHEETS = (Path("static") / "styles" / "data_docs_default_styles.css",)

_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>", re.IGNORECASE)
_SOURCE = re.compile(r'\b(src|href)="(https?://[^"]+)"')
_CHECKS = re.compile(r'\s(?:integrity|crossorigin)(?:="[^"]*")?', re.IGNORECASE)
_CSS_URL = re.compile(r"url\('?(https?://[^')]+)'?\)")


@dataclass
class Localized:
    """What ``localize`` did: the pages it rewrote, and any outside address left in them."""

    pages: list[Path] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)
    skipped: str = ""  # why nothing was done, if so


def site_dir(settings: Settings) -> Path:
    return settings.reports_dir / "data_docs"


def assets_installed(assets: Path = ASSETS) -> bool:
    return all((assets / source).is_file() for source in CDN_FILES.values())


def copy_assets(site: Path, assets: Path = ASSETS) -> None:
    """The files the pages use, under ``site/static/vendor/`` (copied once; refreshed if they change)."""
    vendor = site / VENDOR
    for source in CDN_FILES.values():
        _copy(assets / source, vendor / source)
    for folder in FOLDERS:
        for item in sorted((assets / folder).iterdir()):
            _copy(item, vendor / folder / item.name)


def _copy(source: Path, target: Path) -> None:
    if target.is_file() and target.stat().st_size == source.stat().st_size:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def _relative(target: Path, page: Path) -> str:
    return Path(os.path.relpath(target, page.parent)).as_posix()


def local_address(url: str, page: Path, site: Path) -> str | None:
    """Where ``url`` is in the site, relative to ``page``; None for an address with no local copy."""
    if url in CDN_FILES:
        return _relative(site / VENDOR / CDN_FILES[url], page)
    if url.startswith(IMAGES):
        image = url.removeprefix(IMAGES).split("?", 1)[0]  # the query is a per-context cache buster
        if (site / LOCAL_IMAGES / image).is_file():
            return _relative(site / LOCAL_IMAGES / image, page)
    return None


def localize_page(page: Path, site: Path) -> set[str]:
    """Point one page's scripts, stylesheets and images at the site's copies; return addresses left outside."""
    unknown: set[str] = set()

    def fix(tag: re.Match[str]) -> str:
        text = tag.group(0)
        found = _SOURCE.search(text)
        if found is None:
            return text
        local = local_address(found.group(2), page, site)
        if local is None:
            unknown.add(found.group(2))
            return text
        # Subresource integrity names the CDN's bytes; the local copy is checked by npm's lock instead.
        text = text.replace(found.group(0), f'{found.group(1)}="{local}"')
        return _CHECKS.sub("", text)

    html = page.read_text(encoding="utf-8")
    rewritten = _TAG.sub(fix, html)
    if rewritten != html:
        page.write_text(rewritten, encoding="utf-8")
    return unknown


def localize_stylesheet(path: Path, site: Path) -> set[str]:
    """GX's own stylesheet draws a logo from its bucket; point it at a local image."""
    unknown: set[str] = set()
    if not path.is_file():
        return unknown

    def fix(found: re.Match[str]) -> str:
        url = found.group(1)
        local = local_address(url, path, site)
        if local is None and url.startswith(IMAGES):
            local = _relative(site / LOCAL_IMAGES / "logo-long.png", path)  # the dark logo has no local copy
        if local is None:
            unknown.add(url)
            return found.group(0)
        return f"url('{local}')"

    css = path.read_text(encoding="utf-8")
    rewritten = _CSS_URL.sub(fix, css)
    if rewritten != css:
        path.write_text(rewritten, encoding="utf-8")
    return unknown


def localize(site: Path, pages: Iterable[Path] | None = None, assets: Path = ASSETS) -> Localized:
    """Make the site work offline: copy the assets in, rewrite ``pages`` (default: every page)."""
    done = Localized()
    if not site.is_dir():
        done.skipped = f"no Data Docs site at {site} yet"
        return done
    if not assets_installed(assets):
        done.skipped = (
            f"no local copy of the Data Docs assets in {assets} (`make setup` installs it with npm): "
            "the pages load them from CDNs"
        )
        logger.info(done.skipped)
        return done
    copy_assets(site, assets)
    for page in sorted(site.rglob("*.html")) if pages is None else pages:
        if page.is_file():
            done.unknown |= localize_page(page, site)
            done.pages.append(page)
    for stylesheet in STYLESHEETS:
        done.unknown |= localize_stylesheet(site / stylesheet, site)
    if done.unknown:
        logger.warning("Data Docs still load from outside: %s", ", ".join(sorted(done.unknown)))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m features.data_docs", description="Point every Data Docs page at the local asset copy."
    )
    parser.add_argument("--params", default=None, help="configuration file (default: params.yaml)")
    args = parser.parse_args(argv)
    site = site_dir(load_settings(args.params))
    done = localize(site)
    if done.skipped:
        print(done.skipped)
        return 0
    left = f"; still outside: {', '.join(sorted(done.unknown))}" if done.unknown else ""
    print(f"Data Docs: {len(done.pages)} page(s) in {site} use the local assets{left}")
    return 1 if done.unknown else 0


if __name__ == "__main__":
    raise SystemExit(main())
