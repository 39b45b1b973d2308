"""``python -m maturity assess [--repo DIR] [--out DIR]``: score a repository.

``make assess`` runs it on this project; ``make assess REPO=/some/repo`` on another
(``REPO``, not ``PATH``, which would clobber make's own). The Markdown report and the
chart go to ``--out`` (default: this project's state folder, reports/maturity/). For a
project of this template that has run, the report ends with its KPIs (``kpis.png``).

``python -m maturity agree --corpus DIR... [--grades FILE]``: the tool's scores against the
hand grades of ``docs/maturity-corpus.md``, on checkouts of those repositories in DIR.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from core.settings import PROJECT_ROOT, SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m maturity", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    assess = commands.add_parser("assess", help="score a repository against the maturity model")
    assess.add_argument("--repo", type=Path, default=PROJECT_ROOT, help="the repository (default: this project)")
    assess.add_argument("--out", type=Path, default=None, help="folder for maturity.md, maturity.png, maturity.json")
    agree = commands.add_parser("agree", help="compare the scores with grades given by hand")
    agree.add_argument("--corpus", type=Path, nargs="+", required=True, help="folders of checkouts (owner+name)")
    agree.add_argument("--grades", type=Path, default=PROJECT_ROOT / "docs" / "maturity-corpus.md")
    return parser


def default_out(repo: Path) -> Path:
    try:
        reports = load_settings(environ={}).reports_dir
    except SettingsError:
        reports = PROJECT_ROOT / ".state" / "reports"
    name = "project" if repo.resolve() == PROJECT_ROOT else repo.resolve().name
    return reports / "maturity" / name


def _kpis(repo: Path, out: Path, report: Path) -> dict[str, object] | None:
    """This project's KPIs, when it is a project of the template that has run: appended to the report."""
    from maturity import kpis
    from maturity.target import Target

    target = Target.open(repo)
    if target.settings is None or not target.live:
        return None
    measured = kpis.measure(target.settings)
    chart = kpis.chart(measured, out / "kpis.png")
    report.write_text(report.read_text() + "\n" + kpis.markdown(measured, chart))
    print("KPIs (from the audit trail and the registry):")
    for name, value, reference in kpis.rows(measured):
        print(f"  {name}: {value}   [case study: {reference}]")
    print(f"kpi chart: {chart}")
    return {name: value for name, value, _ in kpis.rows(measured)}


def assess_command(repo: Path, out: Path | None) -> int:
    if not repo.is_dir():
        print(f"error: --repo {repo} is not a folder", file=sys.stderr)
        return 2
    from maturity.report import terminal, write_all
    from maturity.scoring import assess

    assessment = assess(repo)
    terminal(assessment)
    out = out or default_out(repo)
    report, chart = write_all(assessment, out)
    scores = {
        c.component: {
            "score": c.score,
            "provisional": c.provisional,
            "decisive": asdict(c.decisive) if c.decisive else None,
            "next_steps": c.next_steps,
            "evidence": {k: [asdict(e) for e in v] for k, v in c.evidence.items()},
        }
        for c in assessment.components
    }
    document = {
        "root": str(assessment.root),
        "when": assessment.when,
        "overall": assessment.overall,
        "overall_provisional": assessment.overall_provisional,
        "notes": [*assessment.scope_notes, *([assessment.note] if assessment.note else [])],
        "components": scores,
        "kpis": _kpis(repo, out, report),
    }
    (out / "maturity.json").write_text(json.dumps(document, indent=2))
    print(f"report: {report}\nchart:  {chart}")
    return 0


def agree_command(corpora: list[Path], grades: Path) -> int:
    from maturity.agree import agree

    try:
        result = agree(grades, corpora)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for section in result.sections:
        print(f"{section}:\n{result.table(section)}\n")
    print(f"All:\n{result.table()}\n")
    for line in result.disagreements():
        print(f"- {line}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "agree":
        return agree_command(args.corpus, args.grades)
    return assess_command(args.repo, args.out)


if __name__ == "__main__":
    sys.exit(main())
