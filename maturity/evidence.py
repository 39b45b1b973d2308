"""What a probe reports, and where the other components leave the evidence the probes look for.

A probe is ``file`` (the practice is present *and configured* in the repository) or
``live`` (the project's state shows it happened: runs, registry aliases, DVC status,
the Feast registry, reports, the audit log). Live probes read the state of projects of
this template only: on any other repository they answer ``n/a`` and its files are the
evidence. On a project of the template that has not run they answer ``unverified``: a
score resting on them is provisional. As soon as a state folder exists, live evidence
is required.

What the monitoring and governance components leave behind is named in the
``*_GLOBS`` and ``*_TAGS`` constants below: adjust them there when those components
change what they write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Union

from maturity.target import Target

Status = Literal["pass", "fail", "unverified", "n/a"]
Kind = Literal["file", "live"]

# Where the other components leave their evidence, relative to the state folder.
DRIFT_REPORT_GLOBS = ("monitoring/reports/*drift*.json", "monitoring/reports/*drift*.html", "reports/**/*drift*.json")
DRIFT_ALERT_GLOBS = ("monitoring/alerts/*.json",)  # Level 2's alert files: report.as_dict(), ranked columns
MONITOR_STATE = "monitoring/state.json"  # the Level 3 monitor's memory (windows judged, last retraining)
# A training run started by the monitor carries `trigger` (drift | critical_feature | quality_drop);
# runs started by a person carry trigger=manual.
TRIGGER_TAG, MANUAL_TRIGGER, TRIGGER_FEATURES_TAG = "trigger", "manual", "trigger_features"
# A registry version made by a demo (core.registry.DEMO_TAG), such as the canary demo's broken
# model: it shows a failure on purpose, so it does not count against the team's practice.
DEMO_TAG = "demo"
MODEL_CARD_GLOBS = ("**/model_card*.md", "**/model_cards/*.md", "**/model-card*.md")
COMPLIANCE_GLOBS = ("**/compliance_*.json", "**/compliance*.json")
EXPLANATION_GLOBS = ("**/*explanation*", "**/*shap*", "**/*importance*")
FAIRNESS_GLOBS = ("**/*fairness*",)
# What a check answers: (passed, detail) or (passed, detail, where: the decisive "path:line").
Answer = Union[tuple[bool, str], tuple[bool, str, str | None]]  # noqa: UP007  (a runtime alias)


@dataclass(frozen=True)
class Evidence:
    probe: str
    kind: Kind
    status: Status
    detail: str
    fix: str
    where: str | None = None  # the decisive file and line

    @property
    def ok(self) -> bool:
        return self.status != "fail"


@dataclass(frozen=True)
class Probe:
    name: str
    kind: Kind
    what: str  # what the probe looks for, in a few words
    fix: str  # how to get there in this template
    check: Callable[[Target], Answer]

    def run(self, target: Target) -> Evidence:
        if self.kind == "live" and not target.template_project:
            detail = "not applicable: live state is read for projects of this template only"
            return Evidence(self.name, self.kind, "n/a", detail, self.fix)
        if self.kind == "live" and not target.live:
            why = target.settings_problem or "no state folder: the project has not run here"
            return Evidence(self.name, self.kind, "unverified", f"not verified live ({why})", self.fix)
        where: str | None = None
        try:
            answer = self.check(target)
            passed, detail = answer[0], answer[1]
            where = answer[2] if len(answer) > 2 else None
        except Exception as exc:  # a broken store is evidence too: report it, never crash the assessment
            passed, detail = False, f"could not check: {type(exc).__name__}: {str(exc)[:200]}"
        return Evidence(self.name, self.kind, "pass" if passed else "fail", detail, self.fix, where)


def glob_state(target: Target, patterns: tuple[str, ...]) -> list[Path]:
    state = target.state
    if state is None:
        return []
    return sorted({p for pattern in patterns for p in state.glob(pattern) if p.is_file()})


def listed(target: Target, paths: list[Path], limit: int = 3) -> str:
    shown = ", ".join(target.rel(p) for p in paths[:limit])
    return shown + (f" (+{len(paths) - limit} more)" if len(paths) > limit else "")
