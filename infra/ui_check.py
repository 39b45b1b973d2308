"""Every UI of the platform in a real browser, with the network cut off but for loopback.

``make check-uis`` (after ``make pipeline``): each UI is started by its own make target
on a free loopback port (``make mlflow-ui``, ``prefect-ui``, ``monitor-ui``, ``data-docs``),
its pages are loaded in headless Chromium (Debian's ``chromium``, driven by Playwright),
and the saved pages (the model card, the loop's story page) are opened from disk. Any
request to a host other than loopback is refused and recorded, and fails the check, as
does a page that does not show what it should (the Data Docs index must list every
validation with its outcome). Every page is saved as a screenshot. The servers are
stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from core import processes
from core.settings import PROJECT_ROOT, Settings, load_settings

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
LOCAL_SCHEMES = {"file", "data", "blob", "about", "chrome", "devtools"}
CHROMIUM = "chromium"
# Belt and braces: besides refusing every outside request in the page, Chromium resolves no
# name but loopback's and keeps its own background traffic (updates, sync) off.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)


@dataclass(frozen=True)
class Ui:
    """A UI as a newcomer starts it: its make target, the variable that sets its port, where it answers."""

    name: str
    target: str
    port_variable: str
    health: str


UIS = (
    Ui("mlflow", "mlflow-ui", "MLFLOW_PORT", "/health"),
    Ui("prefect", "prefect-ui", "PREFECT_PORT", "/api/health"),
    Ui("evidently", "monitor-ui", "MONITOR_PORT", "/api/projects"),
    Ui("data-docs", "data-docs", "DOCS_PORT", "/index.html"),
)


@dataclass(frozen=True)
class Page:
    shot: str  # screenshot file name, without .png
    url: str
    shows: str = ""  # text the page must show once rendered
    check: Callable[[Any], str] | None = None  # given the page, a problem ("" when fine)
    full_page: bool = False  # screenshot the whole page (the saved pages), not the window


@dataclass
class Visit:
    page: Page
    screenshot: Path | None = None
    outside: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.outside and not self.problems


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return (parts.hostname or "") in LOOPBACK_HOSTS or f"[{parts.hostname}]" in LOOPBACK_HOSTS


@contextlib.contextmanager
def running_uis(root: Path, log_dir: Path, params: str | None = None) -> Iterator[dict[str, str]]:
    """Start every UI with its make target on a free port; yield name -> base URL; stop them all."""
    started: list[Any] = []
    urls: dict[str, str] = {}
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    try:
        for ui in UIS:
            port = processes.free_port()
            command = ["make", "-s", ui.target, f"{ui.port_variable}={port}", *([f"PARAMS={params}"] if params else [])]
            log = log_dir / f"{ui.name}.log"
            started.append((ui, processes.start(command, log, env=env, cwd=root), log))
            urls[ui.name] = f"http://{processes.LOOPBACK}:{port}"
        for ui, server, log in started:
            processes.wait_until(server, urls[ui.name] + ui.health, seconds=300, log=log)
        yield urls
    finally:
        for _, server, _ in reversed(started):
            processes.stop(server)


def mlflow_pages(base: str, settings: Settings) -> list[Page]:
    experiment = httpx.get(
        f"{base}/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": settings.mlflow.experiment}
    ).json()["experiment"]["experiment_id"]
    model = settings.mlflow.registered_model

    def telemetry_off(_: Any) -> str:
        answer = httpx.get(f"{base}/ajax-api/3.0/mlflow/ui-telemetry", timeout=30).json()
        return "" if answer.get("disable_ui_telemetry") is True else f"the UI's telemetry is on: {answer}"

    return [
        Page("mlflow-runs", f"{base}/#/experiments/{experiment}/runs", "train week", telemetry_off),
        Page("mlflow-models", f"{base}/#/models/{quote(model)}", "champion"),
    ]


def prefect_pages(base: str) -> list[Page]:
    runs = httpx.post(
        f"{base}/api/flow_runs/filter",
        json={"flows": {"name": {"any_": ["monitor"]}}, "sort": "START_TIME_DESC", "limit": 50},
        timeout=30,
    ).json()
    canary = next((r for r in runs if r["state_name"] in CANARY_STATES), None)
    pages = [Page("prefect-runs", f"{base}/runs", "monitor")]
    if canary is not None:
        pages.append(Page("prefect-monitor-canary", f"{base}/runs/flow-run/{canary['id']}", canary["state_name"]))
    # One UI only: the second (V2) UI is replaced by a note (infra/prefect_ui.py), and / opens V1.
    pages.append(Page("prefect-v2-off", f"{base}/v2/runs", "V2 UI is off"))
    pages.append(Page("prefect-home", f"{base}/", "Dashboard"))
    return pages


CANARY_STATES = ("Promoted", "Rolled back", "Inconclusive", "Awaiting approval")


def evidently_pages(base: str) -> list[Page]:
    projects = httpx.get(f"{base}/api/projects", timeout=30).json()
    if not projects:
        return [Page("evidently-projects", f"{base}/", "Project")]
    project = projects[0]["id"]
    return [
        Page("evidently-dashboard", f"{base}/projects/{project}", "Share of drifted features"),
        Page("evidently-reports", f"{base}/projects/{project}/reports", "week"),
    ]


def data_docs_pages(base: str, settings: Settings) -> list[Page]:
    site = settings.reports_dir / "data_docs"
    results = sorted((site / "validations").rglob("*.html"))
    suites = sorted(p.stem for p in (site / "expectations").glob("*.html"))

    def every_validation_listed(page: Any) -> str:
        listed = page.evaluate(
            "() => window.jQuery ? jQuery('table[data-toggle=table], #section-1-content-block-2-body table')"
            ".first().bootstrapTable('getData').length : -1"
        )
        if listed == -1:
            return "jQuery did not load: the index's table of validations stays empty"
        icons = page.locator(".fa-check-circle, .fa-times, .fa-times-circle").count()
        if listed != len(results) or icons == 0:
            return f"the index lists {listed} validation(s) ({icons} status icons); the site holds {len(results)}"
        return ""

    pages = [Page("data-docs-index", f"{base}/index.html", "Validation Results", every_validation_listed)]
    pages += [Page(f"data-docs-suite-{s}", f"{base}/expectations/{s}.html", s) for s in suites]
    failed = [p for p in results if _failed(p)]
    for result in [results[-1]] if results else []:
        pages.append(Page("data-docs-result", f"{base}/{result.relative_to(site).as_posix()}", "Overview"))
    for result in failed[-1:]:
        pages.append(Page("data-docs-failed-result", f"{base}/{result.relative_to(site).as_posix()}", "Failed"))
    return pages


def _failed(result: Path) -> bool:
    return bool(re.search(r"<h\d[^>]*>\s*Failed\s*<|Status:\s*Failed|fa-times", result.read_text()))


def file_pages(settings: Settings, champion: str | None) -> list[Page]:
    pages = []
    story = settings.reports_dir / "story.html"
    if story.exists():
        pages.append(Page("story", story.as_uri(), "The loop", full_page=True))
    if champion:
        card = settings.state / "governance" / "versions" / f"v{champion}" / "model_card.html"
        if card.exists():
            pages.append(Page("model-card", card.as_uri(), "Model card", full_page=True))
    return pages


def champion_version(mlflow_base: str, settings: Settings) -> str | None:
    answer = httpx.get(
        f"{mlflow_base}/api/2.0/mlflow/registered-models/get", params={"name": settings.mlflow.registered_model}
    )
    if answer.status_code != 200:
        return None
    aliases = {a["alias"]: a["version"] for a in answer.json()["registered_model"].get("aliases", [])}
    return aliases.get("champion")


def visit_all(pages: list[Page], shots: Path, browser_path: str, wait_seconds: float = 60) -> list[Visit]:
    """Load each page with every outside request refused; screenshot it; say what went wrong."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    shots.mkdir(parents=True, exist_ok=True)
    visits = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=list(CHROMIUM_ARGS))
        try:
            for page_spec in pages:
                visit = Visit(page_spec)
                context = browser.new_context(viewport={"width": 1400, "height": 900}, service_workers="block")

                guard, guard_socket = _guards(visit)
                context.route("**/*", guard)
                context.route_web_socket(re.compile(".*"), guard_socket)
                page = context.new_page()
                page.on("pageerror", _script_errors(visit))
                try:
                    page.goto(page_spec.url, wait_until="load", timeout=wait_seconds * 1000)
                    if page_spec.shows:
                        page.get_by_text(page_spec.shows).first.wait_for(timeout=wait_seconds * 1000)
                    page.wait_for_timeout(1500)  # let late requests and paint happen before judging
                    if page_spec.check is not None and (problem := page_spec.check(page)):
                        visit.problems.append(problem)
                except PlaywrightError as error:
                    visit.problems.append(f"{page_spec.shows or 'the page'} did not appear: {error.message[:200]}")
                visit.screenshot = shots / f"{page_spec.shot}.png"
                with contextlib.suppress(PlaywrightError):
                    page.screenshot(path=str(visit.screenshot), full_page=page_spec.full_page)
                context.close()
                visits.append(visit)
        finally:
            browser.close()
    return visits


def _script_errors(visit: Visit) -> Callable[[Any], None]:
    def record(error: Any) -> None:
        visit.problems.append(f"script error: {error}")

    return record


def _guards(visit: Visit) -> tuple[Callable[[Any], None], Callable[[Any], None]]:
    """Route handlers that let loopback through and refuse (and record) everything else."""

    def guard(route: Any) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            visit.outside.append(route.request.url)
            route.abort("blockedbyclient")

    def guard_socket(socket: Any) -> None:
        if is_local(socket.url):
            socket.connect_to_server()
        else:
            visit.outside.append(socket.url)
            socket.close()

    return guard, guard_socket


def check(settings: Settings, shots: Path, root: Path = PROJECT_ROOT, params: str | None = None) -> list[Visit]:
    browser = shutil.which(CHROMIUM)
    if browser is None:
        raise RuntimeError("no chromium on PATH: `make setup-integration` installs Debian's package")
    with running_uis(root, shots / "logs", params) as urls:
        pages = mlflow_pages(urls["mlflow"], settings)
        pages += prefect_pages(urls["prefect"])
        pages += evidently_pages(urls["evidently"])
        pages += data_docs_pages(urls["data-docs"], settings)
        pages += file_pages(settings, champion_version(urls["mlflow"], settings))
        return visit_all(pages, shots, browser)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make check-uis", description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default=None, help="configuration file (default: params.yaml)")
    parser.add_argument("--shots", default=None, help="where the screenshots go (default: .state/reports/ui-check)")
    args = parser.parse_args(argv)
    settings = load_settings(args.params)
    shots = Path(args.shots).resolve() if args.shots else settings.reports_dir / "ui-check"
    started = time.perf_counter()
    visits = check(settings, shots, params=args.params)
    for visit in visits:
        mark = "ok  " if visit.ok else "FAIL"
        print(f"{mark} {visit.page.shot:28} {visit.page.url}")
        for url in visit.outside:
            print(f"     outside call refused: {url}")
        for problem in visit.problems:
            print(f"     {problem}")
    failed = [v for v in visits if not v.ok]
    print(
        f"{len(visits)} page(s) in {time.perf_counter() - started:.0f} s, {len(failed)} failed; screenshots in {shots}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
