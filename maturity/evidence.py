"""What a probe reports, and where the other components leave the evidence the probes look for.

A probe is ``file`` (the practice is present *and configured* in the repository) or
``live`` (the project's state shows it happened: runs, registry aliases, DVC status,
the Feast registry, reports, the audit log). A live probe on a repository with no
reachable state answers ``unverified`` rather than guessing; as soon as a state folder
exists, live evidence is required.

What the monitoring and governance components leave behind is named in the
``*_GLOBS`` and ``*_TAGS`` constants below: adjust them there when those components
change what they write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from maturity.target import Target

Status = Literal["pass", "fail", "unverified"]
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
AUDIT_LOG_GLOBS = ("audit.jsonl", "governance/audit.jsonl", "**/audit.jsonl")
EXPLANATION_GLOBS = ("**/*explanation*", "**/*shap*", "**/*importance*")
FAIRNESS_GLOBS = ("**/*fairness*",)
CI_FILES = (".github/workflows/*.yml", ".github/workflows/*.yaml", ".gitlab-ci.yml", ".ci/*", "Jenkinsfile")


@dataclass(frozen=True)
class Evidence:
    probe: str
    kind: Kind
    status: Status
    detail: str
    fix: str

    @property
    def ok(self) -> bool:
        return self.status != "fail"


@dataclass(frozen=True)
class Probe:
    name: str
    kind: Kind
    what: str  # what the probe looks for, in a few words
    fix: str  # how to get there in this template
    check: Callable[[Target], tuple[bool, str]]

    def run(self, target: Target) -> Evidence:
        if self.kind == "live" and not target.live:
            why = target.settings_problem or "no state folder: the project has not run here"
            return Evidence(self.name, self.kind, "unverified", f"not verified live ({why})", self.fix)
        try:
            passed, detail = self.check(target)
        except Exception as exc:  # a broken store is evidence too: report it, never crash the assessment
            passed, detail = False, f"could not check: {type(exc).__name__}: {str(exc)[:200]}"
        return Evidence(self.name, self.kind, "pass" if passed else "fail", detail, self.fix)


def glob_state(target: Target, patterns: tuple[str, ...]) -> list[Path]:
    state = target.state
    if state is None:
        return []
    return sorted({p for pattern in patterns for p in state.glob(pattern) if p.is_file()})


def listed(target: Target, paths: list[Path], limit: int = 3) -> str:
    shown = ", ".join(target.rel(p) for p in paths[:limit])
    return shown + (f" (+{len(paths) - limit} more)" if len(paths) > limit else "")
