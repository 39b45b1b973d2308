"""Hold the assessment against grades given by hand: ``python -m maturity agree --corpus DIR``.

The grades are the table of ``docs/maturity-corpus.md`` (one row per repository: its
name, kind, commit, then the five components' levels). ``DIR`` holds a checkout of each
repository in a folder named ``owner+name``; the commit checked out must be the one the
row names. Prints, per component, how many scores equal the hand grade and how many are
within one level, and every disagreement with the tool's decisive evidence.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from maturity.model import COMPONENTS, TITLES, Component
from maturity.scoring import Assessment, assess

ROW = re.compile(
    r"^\|\s*(?P<repo>[\w.-]+/[\w.-]+)\s*\|[^|]*\|\s*(?P<commit>[0-9a-f]{7,40})\s*\|(?P<grades>(\s*\d\s*\|){5})\s*$"
)


@dataclass(frozen=True)
class Graded:
    repo: str
    commit: str
    grades: dict[Component, int]
    section: str  # the heading the row sits under


def read_grades(table: Path) -> list[Graded]:
    rows, section = [], ""
    for line in table.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].split(":")[0].strip()
        if (match := ROW.match(line)) is not None:
            levels = [int(g) for g in match.group("grades").split("|") if g.strip()]
            grades = dict(zip(COMPONENTS, levels, strict=True))
            rows.append(Graded(match.group("repo"), match.group("commit"), grades, section))
    if not rows:
        raise ValueError(f"{table}: no graded rows (| owner/name | kind | commit | 5 levels |)")
    return rows


def checkout(corpora: list[Path], row: Graded) -> Path:
    name = row.repo.replace("/", "+")
    folder = next((c / name for c in corpora if (c / name).is_dir()), corpora[0] / name)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no checkout of {row.repo} (git clone it there, at {row.commit})")
    head = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    if not head.stdout.strip().startswith(row.commit):
        raise ValueError(f"{folder} is at {head.stdout.strip()[:12] or '?'}, the grades are for {row.commit}")
    return folder


@dataclass(frozen=True)
class Agreement:
    rows: list[tuple[Graded, Assessment]]

    @property
    def sections(self) -> list[str]:
        return list(dict.fromkeys(row.section for row, _ in self.rows))

    def counts(self, component: Component, section: str | None = None) -> tuple[int, int, int]:
        """(exact, within one, total) for one component (of one section of the grades, or all)."""
        pairs = [(r.grades[component], a.score(component)) for r, a in self.rows if section in (None, r.section)]
        return sum(h == s for h, s in pairs), sum(abs(h - s) <= 1 for h, s in pairs), len(pairs)

    def table(self, section: str | None = None) -> str:
        lines = ["| component | exact | within one |", "|---|:-:|:-:|"]
        totals = [0, 0, 0]
        for component in COMPONENTS:
            exact, near, total = self.counts(component, section)
            totals = [totals[0] + exact, totals[1] + near, totals[2] + total]
            lines.append(f"| {TITLES[component]} | {exact}/{total} | {near}/{total} |")
        exact, near, total = totals
        lines.append(
            f"| **all** | **{exact}/{total} ({exact / total:.0%})** | **{near}/{total} ({near / total:.0%})** |"
        )
        return "\n".join(lines)

    def disagreements(self) -> list[str]:
        found = []
        for row, assessment in self.rows:
            for c in assessment.components:
                hand = row.grades[c.component]
                if hand != c.score:
                    decisive = c.decisive
                    why = decisive.detail if decisive else "; ".join(c.next_steps[2:4])
                    found.append(f"{row.repo} {TITLES[c.component]}: by hand {hand}, tool {c.score} ({why})")
        return found


def agree(table: Path, corpora: list[Path]) -> Agreement:
    rows = read_grades(table)
    return Agreement([(row, assess(checkout(corpora, row))) for row in rows])
