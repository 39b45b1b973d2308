"""The loop's story page tells what happened, both outcomes truthfully, and loads nothing from anywhere."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.settings import Settings
from monitoring.reports import ColumnDrift, WindowReport
from monitoring.simulator import TrafficResult
from pipelines.results import JudgedWindow, LoopResult, MonitorResult, Registration, WeekOfTraffic
from pipelines.story import write_story
from serving.controller import CanaryRun

pytestmark = pytest.mark.unit


def _loop(outcome: str, settings: Settings) -> LoopResult:
    html = settings.monitoring_dir / "reports" / "window-1-drift.html"
    drifted = WindowReport(
        "window-1",
        800,
        0.42,
        True,
        [ColumnDrift("loan_amount", "wasserstein", 0.7, 0.1, True)],
        None,
        None,
        str(html),
        "",
    )
    monitor = MonitorResult("1", windows=[JudgedWindow(drifted, "drifted (42%), 1 of 2 in a row")])
    retrained = SimpleNamespace(
        run_id="abcdef123456", registration=Registration("passed all 19 rules", [], True, "2", "challenger")
    )
    monitor.retrained = retrained  # type: ignore[assignment]  # the two fields the page reads
    canary = CanaryRun("2", outcome, ["v2: weight 5%", "v2 at 5%: pass"])
    aliases = {"champion": "2", "previous": "1"} if outcome == "promoted" else {"champion": "1"}
    result = LoopResult(
        None, "http://127.0.0.1:1234", [WeekOfTraffic(15, "covariate_shift", TrafficResult(sent=800), monitor)]
    )
    result.canary, result.aliases = canary, aliases
    return result


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        ("promoted", "v2 passed every canary step and was promoted to champion"),
        ("rolled_back", "v2 was rolled back by its canary"),
    ],
)
def test_the_page_says_what_became_of_the_retrained_model(settings: Settings, outcome: str, said: str) -> None:
    page = write_story(settings, _loop(outcome, settings), 123.0)
    text = page.read_text()
    assert said in text and "window 1" in text and "42%" in text and "<svg" in text
    assert re.search(r'href="[^"]*window-1-drift\.html"', text)
    assert not re.search(r'(?:src|href)="https?://', text)  # nothing from outside, nothing to load
    assert ("champion</td><td>v2" in text) == (outcome == "promoted")
    assert page == settings.reports_dir / "story.html" and isinstance(page, Path)
