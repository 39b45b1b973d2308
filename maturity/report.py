"""The assessment's three outputs: a terminal table, a Markdown report, a chart to project."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from maturity.model import LEVEL_NAMES, TABLE, TITLES
from maturity.probes import Evidence
from maturity.scoring import PREVIEW_LEVEL, Assessment

MARKS = {"pass": "✓", "fail": "✗", "unverified": "?"}


def terminal(assessment: Assessment, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"MLOps maturity of {assessment.root}", show_header=True, header_style="bold")
    table.add_column("component")
    table.add_column("level", justify="center")
    table.add_column("the model's description of that level")
    table.add_column("next step")
    for c in assessment.components:
        flag = " ?" if c.unverified else " (preview)" if c.score == PREVIEW_LEVEL else ""
        table.add_row(
            TITLES[c.component],
            f"{c.score}{flag}",
            c.described,
            c.next_steps[1] if len(c.next_steps) > 1 else c.next_steps[0],
        )
    console.print(table)
    console.print(
        f"Overall: Level {assessment.overall} ({LEVEL_NAMES[assessment.overall]}), the least mature component."
    )
    if assessment.note:
        console.print(f"[yellow]{assessment.note}[/] ('?' marks a score that rests on unverified evidence)")


def _evidence_line(item: Evidence) -> str:
    return f"- {MARKS[item.status]} `{item.probe}` ({item.kind}): {item.detail}"


def markdown(assessment: Assessment) -> str:
    lines = [
        "# MLOps maturity assessment",
        "",
        f"Repository: `{assessment.root}`  ",
        f"Assessed: {assessment.when}  ",
        f"Live state: {'inspected' if assessment.live else 'not reachable (files and configuration only)'}",
        "",
    ]
    if assessment.note:
        lines += [f"> {assessment.note}", ""]
    lines += ["| component | level | description |", "|---|:-:|---|"]
    for c in assessment.components:
        flag = " ?" if c.unverified else " (preview)" if c.score == PREVIEW_LEVEL else ""
        lines.append(f"| {TITLES[c.component]} | {c.score}{flag} | {c.described} |")
    lines += [
        "",
        f"**Overall: Level {assessment.overall} ({LEVEL_NAMES[assessment.overall]})**, the least mature component.",
        "",
        "Legend: ✓ checked and holds, ✗ checked and missing, ? could not be checked live. "
        f"Level {PREVIEW_LEVEL} is a preview: it counts only evidence seen happening.",
        "",
    ]
    for c in assessment.components:
        lines += [f"## {TITLES[c.component]}: Level {c.score}", ""]
        for level, items in c.evidence.items():
            preview = " (preview)" if level == PREVIEW_LEVEL else ""
            lines += [f"**Level {level}{preview}: {TABLE[c.component][level]}**", ""]
            lines += [_evidence_line(item) for item in items] + [""]
        lines += ["Next steps:", ""] + [f"- {step}" for step in c.next_steps] + [""]
    return "\n".join(lines)


def chart(assessment: Assessment, path: Path) -> Path:
    """Horizontal bars, one per component, against the five levels: readable from the back of a room."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [TITLES[c.component] for c in assessment.components][::-1]
    scores = [c.score for c in assessment.components][::-1]
    colours = ["#c0392b", "#e67e22", "#f1c40f", "#27ae60", "#2980b9"]
    figure, axes = plt.subplots(figsize=(11, 5.5), dpi=120)
    bars = axes.barh(names, scores, color=[colours[s] for s in scores], height=0.6)
    for bar, score in zip(bars, scores, strict=True):
        preview = score == PREVIEW_LEVEL
        if preview:  # as the table says: a preview level, drawn apart from the levels claimed
            bar.set_hatch("//")
        label = f"Level {score}" + (" (preview)" if preview else "")
        axes.text(bar.get_width() + 0.05, bar.get_y() + bar.get_height() / 2, label, va="center")
    axes.set_xlim(0, 5.0)
    axes.set_xticks(range(5), [f"{n}\n{LEVEL_NAMES[n]}" for n in range(5)], fontsize=8)
    axes.axvline(PREVIEW_LEVEL - 0.5, color="grey", linestyle=":", linewidth=1)
    axes.text(PREVIEW_LEVEL - 0.45, len(names) - 0.8, "Level 4: preview", color="grey", fontsize=9)
    axes.grid(axis="x", alpha=0.3)
    axes.set_title(f"MLOps maturity: {assessment.root.name} (overall Level {assessment.overall}), {assessment.when}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def write_all(assessment: Assessment, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / "maturity.md"
    report.write_text(markdown(assessment))
    return report, chart(assessment, folder / "maturity.png")
