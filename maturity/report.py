"""The assessment's three outputs: a terminal table, a Markdown report, a chart to project."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from maturity.model import LEVEL_NAMES, TABLE, TITLES
from maturity.probes import Evidence
from maturity.scoring import PREVIEW_LEVEL, Assessment, ComponentScore

MARKS = {"pass": "✓", "fail": "✗", "unverified": "?", "n/a": "-"}


def level_text(c: ComponentScore) -> str:
    """The verified level; the provisional one beside it when unverified evidence would raise it."""
    if c.unverified:
        return f"{c.score} (provisional {c.provisional})"
    return f"{c.score}{' (preview)' if c.score == PREVIEW_LEVEL else ''}"


def decisive_text(c: ComponentScore) -> str:
    decisive, provisional = c.decisive, c.decisive_provisional
    shown = (decisive.where or decisive.detail[:60]) if decisive else "nothing verified for Level 1"
    if provisional is not None:
        shown += f"; provisional on {provisional.where or provisional.probe} (live evidence unverified)"
    return shown


def terminal(assessment: Assessment, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"MLOps maturity of {assessment.root}", show_header=True, header_style="bold")
    table.add_column("component", no_wrap=True)
    table.add_column("level", justify="center")
    table.add_column("the model's description of that level")
    table.add_column("decisive evidence")
    table.add_column("next step")
    for c in assessment.components:
        table.add_row(TITLES[c.component], level_text(c), c.described, decisive_text(c), c.next_steps[0])
    console.print(table)
    console.print(
        f"Overall: Level {assessment.overall} ({LEVEL_NAMES[assessment.overall]}), the least mature component."
    )
    if assessment.provisional:
        console.print(
            f"[yellow]Provisional: Level {assessment.overall_provisional}[/], if the unverified live evidence held. "
            "The verified level is the one that counts."
        )
    for line in (*assessment.scope_notes, *([assessment.note] if assessment.note else [])):
        console.print(f"[yellow]{line}[/]")


def _evidence_line(item: Evidence) -> str:
    where = f" [{item.where}]" if item.where and item.where not in item.detail else ""
    return f"- {MARKS[item.status]} `{item.probe}` ({item.kind}): {item.detail}{where}"


def markdown(assessment: Assessment) -> str:
    lines = [
        "# MLOps maturity assessment",
        "",
        f"Repository: `{assessment.root}`  ",
        f"Assessed: {assessment.when}  ",
        f"Live state: {'inspected' if assessment.live else 'not reachable (files and configuration only)'}",
        "",
    ]
    for line in (*assessment.scope_notes, *([assessment.note] if assessment.note else [])):
        lines += [f"> {line}", ""]
    lines += ["| component | verified level | provisional | description | decisive evidence |", "|---|:-:|:-:|---|---|"]
    for c in assessment.components:
        shown = f"{c.score}{' (preview)' if c.score == PREVIEW_LEVEL else ''}"
        lines.append(f"| {TITLES[c.component]} | {shown} | {c.provisional} | {c.described} | {decisive_text(c)} |")
    overall = f"**Overall: Level {assessment.overall} ({LEVEL_NAMES[assessment.overall]})**"
    lines += ["", f"{overall}, the least mature component (verified evidence only)."]
    if assessment.provisional:
        lines += [
            "",
            f"Provisional: Level {assessment.overall_provisional}, if the unverified live evidence held. "
            "A provisional level is not a score: run the project, then assess again.",
        ]
    lines += [
        "",
        "Legend: ✓ checked and holds, ✗ checked and missing, ? could not be checked live (provisional), "
        f"- does not apply to this repository. Level {PREVIEW_LEVEL} is a preview: it counts only evidence "
        "seen happening.",
        "",
    ]
    for c in assessment.components:
        lines += [f"## {TITLES[c.component]}: Level {level_text(c)}", ""]
        for level, items in c.evidence.items():
            preview = " (preview)" if level == PREVIEW_LEVEL else ""
            shown = ", ".join(p.name for p, ok in c.practices[level] if ok) or "not shown"
            if level <= c.provisional and shown == "not shown":
                shown = "not shown: provisional on unverified live evidence"
            lines += [f"**Level {level}{preview}: {TABLE[c.component][level]}** ({shown})", ""]
            lines += [_evidence_line(item) for item in items] + [""]
        if c.context:
            lines += ["Also found:", ""] + [_evidence_line(item) for item in c.context] + [""]
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
    # What unverified evidence would add: hatched and empty, so it never reads as a score.
    extra = [c.provisional - c.score for c in assessment.components][::-1]
    axes.barh(names, extra, left=scores, height=0.6, fill=False, hatch="//", edgecolor="grey", label="provisional")
    bars = axes.barh(names, scores, color=[colours[s] for s in scores], height=0.6)
    for bar, score, more in zip(bars, scores, extra, strict=True):
        preview = score == PREVIEW_LEVEL
        if preview:  # as the table says: a preview level, drawn apart from the levels claimed
            bar.set_hatch("//")
        label = (
            f"Level {score}" + (" (preview)" if preview else "") + (f" (provisional {score + more})" if more else "")
        )
        axes.text(score + more + 0.05, bar.get_y() + bar.get_height() / 2, label, va="center")
    axes.set_xlim(0, 5.0)
    axes.set_xticks(range(5), [f"{n}\n{LEVEL_NAMES[n]}" for n in range(5)], fontsize=8)
    axes.axvline(PREVIEW_LEVEL - 0.5, color="grey", linestyle=":", linewidth=1)
    axes.text(PREVIEW_LEVEL - 0.45, len(names) - 0.8, "Level 4: preview", color="grey", fontsize=9)
    axes.grid(axis="x", alpha=0.3)
    provisional = f", provisional {assessment.overall_provisional}" if assessment.provisional else ""
    overall = f"overall Level {assessment.overall}{provisional}"
    title = f"MLOps maturity: {assessment.root.name} ({overall}), {assessment.when}"
    axes.set_title(title)
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
