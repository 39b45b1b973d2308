"""Policy as code: ``governance/policy.yaml`` loaded into a typed policy, judged by plain rules.

Each rule is a small function of the stage's rules and the version's ``Evidence``
(gathered by ``governance/evidence.py``) and returns named ``RuleResult``s. A version
may take a role only if every rule of that stage passes; a refusal names each failing
rule and the file and key that set its bar. The result is a ``ComplianceReport``,
rendered as JSON and Markdown.

A bar lives in one place. The metric floors and ceilings of the validation gate
(``gate.minimums``, ``gate.maximums`` in params.yaml) hold at every stage too: the
policy re-checks them on the version's recorded metrics (``Bar``s handed to
``evaluate``), naming params.yaml. The policy file may add bars for metrics the gate
does not bound; one that bounds the same metric as the gate is refused at load
(``check_single_source``). The model card's people-written text is per dataset, in
params.yaml (``model_card``); the policy only says which sections a card must have.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from core.rules import RuleResult, Verdict

Stage = Literal["challenger", "champion"]
ApprovalMode = Literal["automatic", "manual"]
FAIRNESS_METRICS = ("demographic_parity_difference", "equalized_odds_difference")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FairnessLimits(_Strict):
    demographic_parity_difference: float | None = Field(None, ge=0.0, le=1.0)
    equalized_odds_difference: float | None = Field(None, ge=0.0, le=1.0)


class StageRules(_Strict):
    minimums: dict[str, float] = Field(default_factory=dict)
    maximums: dict[str, float] = Field(default_factory=dict)
    fairness: FairnessLimits = FairnessLimits()
    data_validation: bool = True
    lineage: tuple[str, ...] = ()
    no_protected_features: bool = True
    model_card: bool = True
    explanation: bool = True


class ApprovalRules(_Strict):
    stages: tuple[Stage, ...] = ("champion",)


class CardRules(_Strict):
    """What a model card must hold; its people-written text is per dataset (params.yaml ``model_card``)."""

    required_sections: tuple[str, ...] = ()


class Policy(_Strict):
    version: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    stages: dict[Stage, StageRules]
    approval: ApprovalRules = ApprovalRules()
    model_card: CardRules = CardRules()
    _file: str = PrivateAttr("governance/policy.yaml")

    @property
    def file(self) -> str:
        """The policy file as a refusal names it."""
        return self._file

    def source(self, stage: str, key: str) -> str:
        return f"{self._file} stages.{stage}.{key}"


def load_policy(path: Path, shown: str | None = None) -> Policy:
    """Read and validate the policy file; a bad value fails naming its key. ``shown``: the path refusals name."""
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ValueError(f"governance policy not found: {path}") from None
    try:
        policy = Policy.model_validate(tree)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"invalid governance policy in {path}: {problems}") from None
    policy._file = shown or str(path)
    return policy


@dataclass(frozen=True)
class Bar:
    """A metric floor or ceiling set outside the policy (the gate's), with where it is set."""

    kind: Literal["minimum", "maximum"]
    metric: str
    bound: float
    source: str


def check_single_source(policy: Policy, bars: list[Bar]) -> None:
    """Refuse a policy that keeps its own copy of a bar the gate already sets: one bar, one place."""
    clashes = []
    for stage, rules in policy.stages.items():
        for kind, bounds in (("minimum", rules.minimums), ("maximum", rules.maximums)):
            for bar in bars:
                if bar.kind == kind and bar.metric in bounds:
                    clashes.append(f"{bar.metric}: {bar.source} and {policy.source(stage, kind + 's.' + bar.metric)}")
    if clashes:
        raise ValueError(
            "a bar is set twice; keep each in one place (the gate's bars hold for the policy too): "
            + "; ".join(clashes)
        )


@dataclass(frozen=True)
class Decision:
    """The latest approval or rejection recorded for a version."""

    kind: Literal["approval", "rejection"]
    actor: str
    reason: str
    time: str


@dataclass(frozen=True)
class Evidence:
    """What is known about a version, from the registry, its run and the audit trail."""

    version: str
    metrics: dict[str, float]
    fairness: dict[str, float | None] | None  # None: no fairness assessment logged; a None gap: not judged
    data_validation: str  # "passed (...)" when the run's evidence shows its data version met its contract
    lineage: dict[str, str]
    features: tuple[str, ...]
    protected: tuple[str, ...]  # sensitive attributes and identifiers of the schema
    card_sections: tuple[str, ...] | None  # None: no model card logged
    explanation: bool
    decision: Decision | None = None
    trail_problems: tuple[str, ...] = ()  # the audit trail does not verify: no decision in it can be trusted
    # Keys of params.yaml's model_card whose text is missing or still the draft's TODO.
    card_facts_missing: tuple[str, ...] = ()
    fairness_note: str = ""  # why a gap was not judged (groups too small), from the assessment


@dataclass(frozen=True)
class Context:
    """What a stage's rules are judged with besides the evidence: where bars are set, and the gate's bars."""

    policy: Policy
    stage: Stage
    bars: tuple[Bar, ...] = ()
    params: str = "params.yaml"  # the params file, as refusals name it

    def source(self, key: str) -> str:
        return self.policy.source(self.stage, key)


def metric_rules(rules: StageRules, evidence: Evidence, context: Context) -> list[RuleResult]:
    bars = list(context.bars)
    for kind, bounds in (("minimum", rules.minimums), ("maximum", rules.maximums)):
        bars += [Bar(kind, m, b, context.source(f"{kind}s.{m}")) for m, b in bounds.items()]  # type: ignore[arg-type]
    results = []
    for bar in bars:
        name, value = f"metric.{bar.kind}.{bar.metric}", evidence.metrics.get(bar.metric)
        if value is None:
            results.append(RuleResult(name, False, "not measured", bar.source))
            continue
        passed = value >= bar.bound if bar.kind == "minimum" else value <= bar.bound
        sign = ">=" if bar.kind == "minimum" else "<="
        results.append(
            RuleResult(name, passed, f"{value:.4f} {'' if passed else 'not '}{sign} {bar.bound}", bar.source)
        )
    return results


def fairness_rules(rules: StageRules, evidence: Evidence, context: Context) -> list[RuleResult]:
    results = []
    for metric in FAIRNESS_METRICS:
        limit = getattr(rules.fairness, metric)
        if limit is None:
            continue
        source = context.source(f"fairness.{metric}")
        if evidence.fairness is None:
            results.append(RuleResult(f"fairness.{metric}", False, "no fairness assessment logged", source))
            continue
        value = evidence.fairness.get(metric)
        if value is None:
            note = evidence.fairness_note or "no attribute had two groups large enough to compare"
            results.append(
                RuleResult(
                    f"fairness.{metric}", False, f"not judged: {note}", f"{context.params} schema.min_group_rows"
                )
            )
            continue
        passed = value <= limit
        detail = f"{value:.4f} {'' if passed else 'not '}<= {limit}"
        results.append(RuleResult(f"fairness.{metric}", passed, detail, source))
    return results


def data_validation_rule(rules: StageRules, evidence: Evidence, context: Context) -> list[RuleResult]:
    if not rules.data_validation:
        return []
    passed = evidence.data_validation.startswith("passed")
    return [RuleResult("data_validation", passed, f"training data validation: {evidence.data_validation}")]


def lineage_rule(rules: StageRules, evidence: Evidence, context: Context) -> list[RuleResult]:
    if not rules.lineage:
        return []
    missing = [key for key in rules.lineage if not evidence.lineage.get(key)]
    detail = f"missing {', '.join(missing)}" if missing else f"all {len(rules.lineage)} keys recorded"
    return [RuleResult("lineage", not missing, detail, context.source("lineage"))]


def protected_features_rule(rules: StageRules, evidence: Evidence, context: Context) -> list[RuleResult]:
    if not rules.no_protected_features:
        return []
    found = [f for f in evidence.features if f in set(evidence.protected)]
    detail = f"protected columns among the features: {', '.join(found)}" if found else "none among the features"
    return [RuleResult("features.no_protected", not found, detail, f"{context.params} schema.sensitive")]


def model_card_rule(rules: StageRules, evidence: Evidence, context: Context) -> list[RuleResult]:
    if not rules.model_card:
        return []
    if evidence.card_sections is None:
        return [RuleResult("model_card", False, "no model card logged", context.source("model_card"))]
    if evidence.card_facts_missing:
        keys = ", ".join(f"model_card.{k}" for k in evidence.card_facts_missing)
        return [
            RuleResult("model_card", False, "the people-written text is missing or a TODO", f"{context.params} {keys}")
        ]
    missing = [s for s in context.policy.model_card.required_sections if s not in evidence.card_sections]
    detail = f"missing sections: {', '.join(missing)}" if missing else "logged, every required section present"
    return [RuleResult("model_card", not missing, detail, f"{context.policy.file} model_card.required_sections")]


def explanation_rule(rules: StageRules, evidence: Evidence, context: Context) -> list[RuleResult]:
    if not rules.explanation:
        return []
    return [
        RuleResult("explanation", evidence.explanation, "logged" if evidence.explanation else "no explanation logged")
    ]


def approval_rule(policy: Policy, stage: Stage, mode: ApprovalMode, evidence: Evidence) -> list[RuleResult]:
    """A recorded rejection blocks in any mode; in manual mode the listed stages need an approval.

    A trail that does not verify blocks in any mode: a rejection in it may have been
    removed, an approval forged.
    """
    if evidence.trail_problems:
        shown = evidence.trail_problems[0] + (
            f" (+{len(evidence.trail_problems) - 1} more)" if len(evidence.trail_problems) > 1 else ""
        )
        return [RuleResult("approval", False, f"the audit trail does not verify: {shown}; see make audit")]
    decision = evidence.decision
    if decision is not None and decision.kind == "rejection":
        return [RuleResult("approval", False, f"rejected by {decision.actor}: {decision.reason}")]
    if mode != "manual" or stage not in policy.approval.stages:
        return []
    if decision is None:
        return [
            RuleResult(
                "approval", False, f"manual mode: waiting for an approval (make approve VERSION={evidence.version})"
            )
        ]
    return [RuleResult("approval", True, f"approved by {decision.actor} at {decision.time}: {decision.reason}")]


StageRule = Callable[[StageRules, Evidence, Context], list[RuleResult]]
STAGE_RULES: tuple[StageRule, ...] = (
    metric_rules,
    fairness_rules,
    data_validation_rule,
    lineage_rule,
    protected_features_rule,
    explanation_rule,
    model_card_rule,
)


@dataclass(frozen=True)
class ComplianceReport(Verdict):
    version: str
    stage: Stage
    policy_version: str
    approval_mode: ApprovalMode
    rules: list[RuleResult]
    evaluated_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    @property
    def only_waiting_for_approval(self) -> bool:
        """Refused for no reason but a missing approval: the version waits, it is not rejected."""
        return bool(self.failed) and all(r.rule == "approval" and "waiting" in r.detail for r in self.failed)

    def summary(self) -> str:
        if self.passed:
            return f"{self.stage} policy {self.policy_version}: passed all {len(self.rules)} rules"
        failing = "; ".join(r.explained for r in self.failed)
        return f"{self.stage} policy {self.policy_version}: refused by {failing}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed, "failed": [r.rule for r in self.failed]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        lines = [
            f"# Compliance report: version {self.version}, stage {self.stage}",
            "",
            f"Policy {self.policy_version}, approval mode {self.approval_mode}, evaluated {self.evaluated_at}.",
            "",
            f"**Verdict: {'PASSED' if self.passed else 'REFUSED'}**",
            "",
            "| rule | result | detail | bar set by |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| `{r.rule}` | {'pass' if r.passed else '**FAIL**'} | {r.detail} | {r.source or '-'} |"
            for r in self.rules
        ]
        return "\n".join(lines) + "\n"


def evaluate(
    policy: Policy,
    stage: Stage,
    evidence: Evidence,
    mode: ApprovalMode,
    bars: tuple[Bar, ...] = (),
    params: str = "params.yaml",
) -> ComplianceReport:
    """Judge ``evidence`` against every rule of ``stage``, and against ``bars`` set outside the policy (the gate's)."""
    rules = policy.stages.get(stage)
    if rules is None:
        raise ValueError(f"the policy has no rules for stage {stage!r}")
    context = Context(policy, stage, bars, params)
    results: list[RuleResult] = []
    for rule in STAGE_RULES:
        results += rule(rules, evidence, context)
    results += approval_rule(policy, stage, mode, evidence)
    return ComplianceReport(evidence.version, stage, policy.version, mode, results)
