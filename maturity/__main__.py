"""``python -m maturity assess [--repo DIR] [--out DIR]``: score a repository.

``make assess`` runs it on this project; ``make assess REPO=/some/repo`` on another
(``REPO``, not ``PATH``, which would clobber make's own). The Markdown report and the
chart go to ``--out`` (default: this project's state folder, reports/maturity/).
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
    return parser


def default_out(repo: Path) -> Path:
    try:
        reports = load_settings(environ={}).reports_dir
    except SettingsError:
        reports = PROJECT_ROOT / ".state" / "reports"
    name = "project" if repo.resolve() == PROJECT_ROOT else repo.resolve().name
    return reports / "maturity" / name


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.repo.is_dir():
        print(f"error: --repo {args.repo} is not a folder", file=sys.stderr)
        return 2
    from maturity.report import terminal, write_all
    from maturity.scoring import assess

    assessment = assess(args.repo)
    terminal(assessment)
    out = args.out or default_out(args.repo)
    report, chart = write_all(assessment, out)
    scores = {
        c.component: {"score": c.score, "evidence": {k: [asdict(e) for e in v] for k, v in c.evidence.items()}}
        for c in assessment.components
    }
    (out / "maturity.json").write_text(
        json.dumps(
            {
                "root": str(assessment.root),
                "when": assessment.when,
                "overall": assessment.overall,
                "components": scores,
            },
            indent=2,
        )
    )
    print(f"report: {report}\nchart:  {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
