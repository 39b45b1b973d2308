"""Score each component from 0 to 4 against the model's component table.

A component reaches Level n when the evidence for every level up to n holds: the
ladder is climbed in order, so a feature store without data validation is still
Level 1 data management. ``CRITERIA`` says which probes stand for which cell of the
table; Level 4 is a preview (marked as such in every report).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from maturity.model import COMPONENTS, PHASES, ROADMAP, TABLE, Component
from maturity.probes import PROBES, Evidence
from maturity.target import Target

PREVIEW_LEVEL = 4

CRITERIA: dict[Component, dict[int, tuple[str, ...]]] = {
    "data_management": {
        1: ("git", "run_versions"),  # basic data versioning: every run names its data
        2: ("dvc_config", "dvc_in_sync", "validation_code", "validation_results", "engineered_features"),
        3: ("feature_store_config", "feast_registry", "feature_pipeline", "drift_reports"),
        4: ("active_learning",),
    },
    "model_development": {
        1: ("tracking_code", "tracked_runs", "run_versions"),
        2: ("hpo_code", "registry_code", "tuned_runs", "registry"),
        3: ("model_families", "model_selection"),
        4: ("architecture_search", "model_families", "self_healing"),
    },
    "deployment": {
        1: ("tests", "ci", "logged_model"),
        2: ("gate_config", "gate_verdicts", "ab_comparison"),
        3: ("canary_config", "canary_history"),
        4: ("canary_config", "self_healing"),
    },
    "monitoring": {
        1: ("tracking_code", "tracked_runs"),
        2: ("drift_code", "drift_reports"),
        3: ("trigger_policy", "monitor_judging", "retraining_triggered"),
        4: ("drift_code", "ranked_drift"),
    },
    "governance": {
        1: ("docs", "documented_runs"),
        2: ("registry_code", "registry", "gate_verdicts"),
        3: ("policy", "compliance", "model_cards", "audit_log"),
        4: ("policy", "explained_fair"),
    },
}


@dataclass(frozen=True)
class ComponentScore:
    component: Component
    score: int
    evidence: dict[int, list[Evidence]]  # level -> what was checked for it
    next_steps: list[str]

    @property
    def unverified(self) -> bool:
        """The score leans on live evidence that could not be checked."""
        return any(e.status == "unverified" for lvl in range(1, self.score + 1) for e in self.evidence[lvl])

    @property
    def described(self) -> str:
        return TABLE[self.component][self.score]


@dataclass(frozen=True)
class Assessment:
    root: Path
    when: str
    live: bool
    note: str | None
    components: list[ComponentScore]

    @property
    def overall(self) -> int:
        """The organisation is as mature as its least mature component."""
        return min(c.score for c in self.components)

    def score(self, component: Component) -> int:
        return next(c.score for c in self.components if c.component == component)


def score_component(component: Component, results: dict[str, Evidence]) -> ComponentScore:
    evidence = {level: [results[name] for name in names] for level, names in CRITERIA[component].items()}
    score = 0
    for level in sorted(evidence):
        # Every check must hold, and at least one must have passed outright: evidence
        # that could not be verified never carries a level on its own.
        checks = evidence[level]
        if not all(item.ok for item in checks) or not any(item.status == "pass" for item in checks):
            break
        # The Level 4 preview counts only what was seen happening.
        if level == PREVIEW_LEVEL and any(item.status == "unverified" for item in checks):
            break
        score = level
    return ComponentScore(component, score, evidence, next_steps(component, score, evidence))


def next_steps(component: Component, score: int, evidence: dict[int, list[Evidence]]) -> list[str]:
    """The next level's missing evidence, each with its fix here, then the roadmap phase's tasks."""
    if score >= PREVIEW_LEVEL:
        return ["top of the model: keep improving (Phase 4: Continuous improvement)"]
    target = score + 1
    missing = [f"{e.probe}: {e.detail} -> {e.fix}" for e in evidence[target] if not e.ok]
    phase = f"{PHASES[target]}: " + "; ".join(ROADMAP[target][component])
    preview = " (Level 4 is a preview)" if target == PREVIEW_LEVEL else ""
    return [f"reach Level {target}{preview}: {TABLE[component][target]}", *missing, phase]


def assess(root: Path) -> Assessment:
    target = Target.open(root)
    needed = {name for levels in CRITERIA.values() for names in levels.values() for name in names}
    results = {name: PROBES[name].run(target) for name in sorted(needed)}
    note = None
    if target.settings_problem:
        note = f"params.yaml did not load: {target.settings_problem}"
    elif not target.live:
        note = "no live state reachable: scores rest on files and configuration (live evidence unverified)"
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    scores = [score_component(component, results) for component in COMPONENTS]
    return Assessment(target.root, when, target.live, note, scores)
