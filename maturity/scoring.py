"""Score each component from 0 to 4 against the model's component table.

Each cell of the table names one or more practices (``CRITERIA``). A practice shows
when its file evidence holds and, for a project of this template, its live evidence
confirms it happened. A component reaches Level n when a practice of every level up to
n shows: the ladder is climbed in order, so a feature store without data versioning is
still Level 0 data management.

Two scores: the **verified** one counts only evidence that was checked; the
**provisional** one also lets unverified live evidence (a project that has not run)
count. The verified score is the one that counts; the report shows both when they
differ. Level 4 is a preview and counts only what was seen happening.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from maturity.model import COMPONENTS, PHASES, ROADMAP, TABLE, Component
from maturity.probes import PROBES, Evidence
from maturity.target import Target

PREVIEW_LEVEL = 4


@dataclass(frozen=True)
class Practice:
    """One practice a cell of the table names: its file probe and the live probes that confirm it."""

    name: str
    file: str
    live: tuple[str, ...] = ()

    @property
    def probes(self) -> tuple[str, ...]:
        return (self.file, *self.live)


P = Practice
CRITERIA: dict[Component, dict[int, tuple[Practice, ...]]] = {
    "data_management": {
        1: (P("data versioning", "data_versioning", ("run_versions",)),),
        2: (
            P("data validation", "validation_code", ("validation_results",)),
            P("automated feature engineering", "feature_pipeline", ("engineered_features", "dvc_in_sync")),
        ),
        3: (
            P("a feature store", "feature_store_config", ("feast_registry",)),
            P("automated data-quality monitoring", "quality_monitoring", ("monitor_judging",)),
        ),
        4: (P("automated data labeling, active learning", "active_learning"),),
    },
    "model_development": {
        1: (P("experiment tracking", "tracking_code", ("tracked_runs", "run_versions")),),
        2: (P("automated hyper-parameter optimization", "hpo_code", ("tuned_runs",)),),
        3: (P("automated model selection", "model_families", ("model_selection",)),),
        4: (P("automated architecture search", "architecture_search"),),
    },
    "deployment": {
        1: (P("CI/CD for the model", "ci", ("logged_model",)),),
        2: (
            P("automated model validation", "gate_config", ("gate_verdicts",)),
            P("A/B testing", "ab_code", ("ab_comparison",)),
        ),
        3: (
            P("canary deployments", "canary_config", ("canary_history",)),
            P("automated rollback", "rollback_code", ("canary_history",)),
        ),
        4: (P("self-healing systems", "canary_config", ("self_healing",)),),
    },
    "monitoring": {
        1: (P("model metrics monitoring", "metrics_code", ("tracked_runs",)),),
        2: (
            P("basic drift detection", "drift_code", ("drift_reports",)),
            P("automated alerting", "alerting_code", ("drift_alerts",)),
        ),
        3: (P("automated retraining", "trigger_policy", ("monitor_judging", "retraining_triggered")),),
        4: (P("automated root-cause analysis", "drift_code", ("ranked_drift",)),),
    },
    "governance": {
        1: (P("model documentation", "docs", ("documented_runs",)),),
        2: (
            P("a model registry", "registry_code", ("registry", "gate_verdicts")),
            P("manual approval workflows", "approval_code", ("approvals",)),
        ),
        3: (
            P("automated compliance checks", "policy", ("compliance", "audit_log")),
            P("model cards", "cards_code", ("model_cards",)),
        ),
        4: (P("explainable AI, bias detection", "policy", ("explained_fair",)),),
    },
}
# Found and reported with their component, but no cell of the table names them alone.
CONTEXT: dict[Component, tuple[str, ...]] = {
    "data_management": ("git",),
    "deployment": ("tests", "serving"),
    "governance": ("fairness",),  # bias detection is a Level 4 item: reported, not scored from files
}
SHOWN = frozenset({"pass", "n/a"})


def shows(practice: Practice, results: dict[str, Evidence], *, provisional: bool, preview: bool = False) -> bool:
    """Its file evidence holds and its live evidence confirms it (or cannot apply)."""
    if results[practice.file].status != "pass":
        return False
    statuses = [results[name].status for name in practice.live]
    if preview:  # the Level 4 preview: seen happening, never assumed
        return all(s == "pass" for s in statuses)
    allowed = SHOWN | ({"unverified"} if provisional else set())
    return all(s in allowed for s in statuses)


@dataclass(frozen=True)
class ComponentScore:
    component: Component
    score: int  # verified: the one that counts
    provisional: int  # with unverified live evidence allowed to count
    evidence: dict[int, list[Evidence]]  # level -> what was checked for it
    practices: dict[int, list[tuple[Practice, bool]]]  # level -> each practice and whether it showed (verified)
    next_steps: list[str]
    context: list[Evidence]

    @property
    def unverified(self) -> bool:
        """The provisional score is higher: it leans on live evidence that could not be checked."""
        return self.provisional > self.score

    @property
    def described(self) -> str:
        return TABLE[self.component][self.score]

    @property
    def decisive(self) -> Evidence | None:
        """The evidence that carried the score: the file (and line) of the top level's practice."""
        for practice, shown in self.practices.get(self.score, []):
            if shown:  # the preview counts what was seen happening: its live evidence decides
                name = practice.live[0] if self.score == PREVIEW_LEVEL and practice.live else practice.file
                return next(e for e in self.evidence[self.score] if e.probe == name)
        return None

    @property
    def decisive_provisional(self) -> Evidence | None:
        """The file evidence the provisional score rests on (its live confirmation unverified)."""
        if not self.unverified:
            return None
        practices = [p for p, _ in self.practices[self.provisional]]
        return next(
            (e for e in self.evidence[self.provisional] for p in practices if e.probe == p.file and e.status == "pass"),
            None,
        )


def _ladder(component: Component, results: dict[str, Evidence], *, provisional: bool) -> int:
    score = 0
    for level in sorted(CRITERIA[component]):
        preview = level == PREVIEW_LEVEL
        if not any(shows(p, results, provisional=provisional, preview=preview) for p in CRITERIA[component][level]):
            break
        score = level
    return score


def score_component(component: Component, results: dict[str, Evidence]) -> ComponentScore:
    levels = CRITERIA[component]
    evidence = {
        level: [results[name] for name in dict.fromkeys(n for p in practices for n in p.probes)]
        for level, practices in levels.items()
    }
    practices = {
        level: [(p, shows(p, results, provisional=False, preview=level == PREVIEW_LEVEL)) for p in ps]
        for level, ps in levels.items()
    }
    score = _ladder(component, results, provisional=False)
    provisional = _ladder(component, results, provisional=True)
    context = [results[name] for name in CONTEXT.get(component, ())]
    steps = next_steps(component, score, practices, results)
    return ComponentScore(component, score, max(score, provisional), evidence, practices, steps, context)


def next_steps(
    component: Component, score: int, practices: dict[int, list[tuple[Practice, bool]]], results: dict[str, Evidence]
) -> list[str]:
    """The roadmap phase that follows, as its task for this component, then what the next cell lacks here."""
    if score >= PREVIEW_LEVEL:
        return ["top of the model: keep improving (Phase 4: Optimization, continuous improvement)"]
    target = score + 1
    tasks = " / ".join(ROADMAP[target][component]) or f"(no {component.replace('_', ' ')} task in this phase)"
    preview = " (Level 4 is a preview)" if target == PREVIEW_LEVEL else ""
    steps = [f"{PHASES[target]}: {tasks}", f"Level {target}{preview} needs: {TABLE[component][target]}"]
    for practice, _ in practices[target]:
        missing = [results[n] for n in practice.probes if results[n].status not in SHOWN]
        steps += [f"{practice.name}: {e.detail} -> {e.fix}" for e in missing]
    return steps


@dataclass(frozen=True)
class Assessment:
    root: Path
    when: str
    live: bool
    note: str | None
    components: list[ComponentScore]
    scope_notes: tuple[str, ...] = ()
    template_project: bool = False

    @property
    def overall(self) -> int:
        """The organisation is as mature as its least mature component (verified)."""
        return min(c.score for c in self.components)

    @property
    def overall_provisional(self) -> int:
        return min(c.provisional for c in self.components)

    @property
    def provisional(self) -> bool:
        return any(c.unverified for c in self.components)

    def score(self, component: Component) -> int:
        return next(c.score for c in self.components if c.component == component)

    def provisional_score(self, component: Component) -> int:
        return next(c.provisional for c in self.components if c.component == component)


def assess(root: Path) -> Assessment:
    target = Target.open(root)
    needed = {n for levels in CRITERIA.values() for ps in levels.values() for p in ps for n in p.probes}
    needed |= {n for names in CONTEXT.values() for n in names}
    results = {name: PROBES[name].run(target) for name in sorted(needed)}
    note = None
    if target.settings_problem:
        note = f"params.yaml did not load: {target.settings_problem}: live evidence unverified, scores provisional"
    elif target.template_project and not target.live:
        note = (
            "this project has not run here: its live evidence is unverified, so the scores its files alone "
            "would give are provisional; the verified scores count (make pipeline, then assess again)"
        )
    elif not target.template_project:
        note = "judged from its files: the live state of its tools (tracking server, registry) is not read here"
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    scores = [score_component(component, results) for component in COMPONENTS]
    return Assessment(target.root, when, target.live, note, scores, target.scope.notes, target.template_project)
