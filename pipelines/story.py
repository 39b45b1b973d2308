"""The loop's story on one page: ``.state/reports/story.html``, written at the end of ``make pipeline``.

One self-contained HTML file (no script, no outside address) that a workshop can
project: the timeline of the run, the drift share of every window against the policy's
threshold, the canary's steps and its outcome, the registry's aliases at the end, and a
link to each report the run wrote (Evidently windows, Data Docs, model cards).
"""

from __future__ import annotations

import datetime as dt
import html
import os
from pathlib import Path

from core.settings import Settings
from pipelines.results import LoopResult

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%} td,th{padding:.35em .6em;border-bottom:1px solid #eee;text-align:left;
vertical-align:top} .ok{color:#1e7d32;font-weight:600} .bad{color:#b3261e;font-weight:600}
.muted{color:#666} svg text{font-size:12px;font-family:system-ui,sans-serif} code{background:#f4f4f4;padding:0 .2em}
"""


def _link(target: str | Path | None, page: Path, text: str) -> str:
    if not target:
        return html.escape(text)
    relative = Path(os.path.relpath(Path(target), page.parent)).as_posix()
    return f'<a href="{html.escape(relative)}">{html.escape(text)}</a>'


def outcome_sentence(result: LoopResult) -> tuple[str, str]:
    """What became of the retrained model, truthfully, and a CSS class for it."""
    retrained = result.retrained
    if retrained is None:
        return "No retraining: the trigger did not fire, and the champion kept serving.", "muted"
    version = retrained.registration.version
    if version is None or retrained.registration.alias is None:
        return f"The retrained model did not become a challenger: gate {retrained.registration.verdict}.", "muted"
    canary = result.canary
    if canary is None:
        return f"v{version} is the challenger; no canary ran.", "muted"
    if canary.outcome == "promoted":
        return f"v{version} passed every canary step and was promoted to champion.", "ok"
    if canary.outcome == "rolled_back":
        return f"v{version} was rolled back by its canary; the champion kept serving.", "bad"
    if canary.outcome == "awaiting_approval":
        return f"v{version} passed the canary and waits for a person's approval (make approve).", "muted"
    return f"v{version}'s canary ended without a decision ({canary.outcome}).", "muted"


def drift_chart(points: list[tuple[str, float]], threshold: float) -> str:
    """Inline SVG bars: one per window, the policy's share as a dashed line."""
    if not points:
        return '<p class="muted">No window was judged.</p>'
    step, bar = 90, 56
    width, height = step * len(points) + 70, 300
    top, base = 24, 260
    scale = base - top
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="drift share per window">']
    for number, (label, share) in enumerate(points):
        x = 60 + number * step
        y = base - share * scale
        colour = "#b3261e" if share >= threshold else "#5c8dd6"
        parts.append(f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{base - y:.1f}" fill="{colour}"/>')
        parts.append(f'<text x="{x + bar / 2}" y="{y - 4:.1f}" text-anchor="middle">{share:.0%}</text>')
        parts.append(f'<text x="{x + bar / 2}" y="{base + 16}" text-anchor="middle">{html.escape(label)}</text>')
    line = base - threshold * scale
    parts.append(
        f'<line x1="40" x2="{width}" y1="{line:.1f}" y2="{line:.1f}" stroke="#333" stroke-dasharray="4 3"/>'
        f'<text x="2" y="{line + 4:.1f}">{threshold:.0%}</text>'
        f'<line x1="40" x2="{width}" y1="{base}" y2="{base}" stroke="#999"/></svg>'
    )
    return "".join(parts)


def _first_clause(decision: str) -> str:
    """The policy's verdict without the feature list it goes on with (the report has it)."""
    return decision.split("; most:", 1)[0]


def render(settings: Settings, result: LoopResult, seconds: float, page: Path) -> str:
    sentence, css = outcome_sentence(result)
    rows: list[str] = []
    points: list[tuple[str, float]] = []

    def row(step: str, what: str) -> None:
        rows.append(f"<tr><th>{html.escape(step)}</th><td>{what}</td></tr>")

    if result.training is not None:
        reg = result.training.registration
        kept = f"v{reg.version} is {reg.alias}" if reg.version and reg.alias else "the champion stays"
        row("train", f"MLflow run <code>{result.training.run_id[:8]}</code>: gate {html.escape(reg.verdict)}; {kept}")
    row("serve", f"BentoML service on {html.escape(result.url)} (stopped at the end)")
    number = 0
    for week in result.weeks:
        lines = [f"{week.traffic.sent} requests, {week.traffic.errors} errors; labels delivered"]
        for judged in week.monitor.windows if week.monitor else []:
            number += 1
            report = judged.report
            points.append((f"w{number}", report.drift_share))
            top = ", ".join(c.column for c in report.drifted_columns[:3]) or "none"
            lines.append(
                f"window {number}: {_link(report.html, page, f'{report.drift_share:.0%} drifted')} "
                f"(top: {html.escape(top)}) &rarr; {html.escape(_first_clause(judged.decision))}"
            )
        if week.monitor and week.monitor.trigger is not None:
            trigger = week.monitor.trigger
            lines.append(f'<span class="bad">trigger ({html.escape(trigger.kind)})</span>')
        row(f"week {week.week} ({week.scenario})", "<br>".join(lines))
    retrained = result.retrained
    if retrained is not None:
        reg = retrained.registration
        became = f"v{reg.version} is {reg.alias}" if reg.version and reg.alias else "not registered"
        row("retrain", f"MLflow run <code>{retrained.run_id[:8]}</code>: gate {html.escape(reg.verdict)}; {became}")
    if result.canary is not None:
        steps = "".join(f"<li>{html.escape(line)}</li>" for line in result.canary.history)
        row("canary", f"<ol>{steps}</ol>outcome: <b>{html.escape(result.canary.outcome)}</b>")
    aliases = "".join(
        f"<tr><td>{html.escape(a)}</td><td>v{html.escape(v)}</td></tr>" for a, v in sorted(result.aliases.items())
    )
    cards = sorted((settings.state / "governance" / "versions").glob("v*/model_card.html"))
    links = [
        _link(settings.reports_dir / "data_docs" / "index.html", page, "Data Docs (validation results)"),
        *(_link(card, page, f"model card {card.parent.name}") for card in cards),
        _link(settings.monitoring_dir / "reports", page, "every Evidently report (HTML files)"),
    ]
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    scenario = settings.monitoring.simulation.scenario
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>The loop, {when}</title><style>{STYLE}</style></head>
<body>
<h1>The loop: train, serve, drift, retrain, canary</h1>
<p class="muted">{when}; {seconds:.0f} s; level {settings.level}; scenario {html.escape(scenario)}</p>
<p class="{css}">{html.escape(sentence)}</p>
<h2>Timeline</h2><table>{"".join(rows)}</table>
<h2>Drift share per window</h2>
<p class="muted">Share of features Evidently judged drifted; a window at or above the dashed line
({settings.monitoring.drift.share:.0%}) counts as drifted; {settings.monitoring.trigger.consecutive_windows}
in a row start a retraining.</p>
{drift_chart(points, settings.monitoring.drift.share)}
<h2>Registry aliases at the end</h2><table><tr><th>alias</th><th>version</th></tr>{aliases}</table>
<h2>Reports</h2><ul>{"".join(f"<li>{link}</li>" for link in links)}</ul>
<p class="muted">The UIs: <code>make mlflow-ui</code> (runs and registry), <code>make prefect-ui</code> (flow runs;
the monitor run's state is the canary's outcome), <code>make monitor-ui</code> (Evidently),
<code>make data-docs</code>.</p>
</body></html>
"""


def write_story(settings: Settings, result: LoopResult, seconds: float) -> Path:
    page = settings.reports_dir / "story.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render(settings, result, seconds, page), encoding="utf-8")
    return page
