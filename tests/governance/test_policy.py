"""Policy rules, each made to fail alone: the refusal names that rule and no other."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from core.settings import DEFAULT_PARAMS, load_settings
from governance.policy import ComplianceReport, Decision, Evidence, Policy, check_single_source, load_policy
from governance.policy import evaluate as evaluate_policy
from governance.review import gate_bars

pytestmark = pytest.mark.unit

SETTINGS = load_settings(DEFAULT_PARAMS, environ={})
POLICY = load_policy(SETTINGS.policy_file, "governance/policy.yaml")
BARS = gate_bars(SETTINGS)  # the gate's floors and ceilings hold for the policy too


def evaluate(policy: Policy, stage: str, evidence: Evidence, mode: str) -> ComplianceReport:
    return evaluate_policy(policy, stage, evidence, mode, BARS)  # type: ignore[arg-type]


GOOD = Evidence(
    version="3",
    metrics={"roc_auc": 0.80, "pr_auc": 0.40, "brier": 0.08, "calibration_error": 0.02},
    fairness={"demographic_parity_difference": 0.02, "equalized_odds_difference": 0.03},
    data_validation="passed (12 batches of data version d1, each with a passing Great Expectations result)",
    lineage={key: "recorded" for key in POLICY.stages["champion"].lineage},
    features=("age", "annual_income", "region"),
    protected=("gender", "customer_id", "event_timestamp", "is_default", "application_id"),
    card_sections=POLICY.model_card.required_sections,
    explanation=True,
)
APPROVED = Decision("approval", "risk-officer", "card reviewed", "2026-11-26T10:00:00+00:00")


def _metrics(**changed: float) -> dict[str, float]:
    return {**GOOD.metrics, **changed}


BREAKS: dict[str, Callable[[Evidence], Evidence]] = {
    "metric.minimum.roc_auc": lambda e: dataclasses.replace(e, metrics=_metrics(roc_auc=0.60)),
    "metric.minimum.pr_auc": lambda e: dataclasses.replace(e, metrics=_metrics(pr_auc=0.10)),
    "metric.maximum.calibration_error": lambda e: dataclasses.replace(e, metrics=_metrics(calibration_error=0.2)),
    "fairness.demographic_parity_difference": lambda e: dataclasses.replace(
        e, fairness={"demographic_parity_difference": 0.25, "equalized_odds_difference": 0.03}
    ),
    "fairness.equalized_odds_difference": lambda e: dataclasses.replace(
        e, fairness={"demographic_parity_difference": 0.02, "equalized_odds_difference": 0.40}
    ),
    "data_validation": lambda e: dataclasses.replace(e, data_validation="no validation results recorded with the run"),
    "lineage": lambda e: dataclasses.replace(e, lineage={**e.lineage, "data_version": ""}),
    "features.no_protected": lambda e: dataclasses.replace(e, features=(*e.features, "gender")),
    "model_card": lambda e: dataclasses.replace(e, card_sections=("Intended use",)),
    "explanation": lambda e: dataclasses.replace(e, explanation=False),
    "approval": lambda e: dataclasses.replace(e, decision=Decision("rejection", "risk-officer", "no", "t")),
}


@pytest.mark.parametrize("stage", ["challenger", "champion"])
def test_sound_evidence_passes(stage: str) -> None:
    report = evaluate(POLICY, stage, GOOD, "automatic")
    assert report.passed, report.summary()


@pytest.mark.parametrize("stage", ["challenger", "champion"])
@pytest.mark.parametrize("rule", sorted(BREAKS))
def test_each_rule_failing_alone_refuses_and_is_named(stage: str, rule: str) -> None:
    report = evaluate(POLICY, stage, BREAKS[rule](GOOD), "automatic")
    assert not report.passed
    assert [r.rule for r in report.failed] == [rule]
    assert rule in report.summary() and rule in report.to_markdown()


def test_missing_evidence_fails_naming_what_is_missing() -> None:
    bare = dataclasses.replace(GOOD, fairness=None, card_sections=None, metrics={})
    failed = {r.rule: r.detail for r in evaluate(POLICY, "champion", bare, "automatic").failed}
    assert failed["fairness.demographic_parity_difference"] == "no fairness assessment logged"
    assert failed["model_card"] == "no model card logged"
    assert failed["metric.minimum.roc_auc"] == "not measured"


def test_manual_mode_needs_an_approval_for_champion_only() -> None:
    waiting = evaluate(POLICY, "champion", GOOD, "manual")
    assert [r.rule for r in waiting.failed] == ["approval"] and waiting.only_waiting_for_approval
    assert evaluate(POLICY, "challenger", GOOD, "manual").passed
    approved = evaluate(POLICY, "champion", dataclasses.replace(GOOD, decision=APPROVED), "manual")
    assert approved.passed and "risk-officer" in approved.rules[-1].detail


def test_a_rejection_is_not_a_wait() -> None:
    rejected = dataclasses.replace(GOOD, decision=Decision("rejection", "risk-officer", "bias", "t"))
    report = evaluate(POLICY, "champion", rejected, "manual")
    assert not report.passed and not report.only_waiting_for_approval


def test_a_bad_policy_fails_naming_the_key(tmp_path: Path) -> None:
    broken = tmp_path / "policy.yaml"
    broken.write_text("version: x\nowner: y\nstages: {champion: {fairness: {demographic_parity_difference: 2}}}\n")
    with pytest.raises(ValueError, match=r"stages\.champion\.fairness\.demographic_parity_difference"):
        load_policy(broken)


def test_the_shipped_policy_is_valid() -> None:
    assert isinstance(POLICY, Policy) and set(POLICY.stages) == {"challenger", "champion"}


def test_governance_settings_are_validated_and_name_the_key(workspace: Path) -> None:
    from core.settings import SettingsError

    with pytest.raises(SettingsError, match=r"governance\.approval_mode"):
        load_settings(workspace / "params.yaml", {"governance.approval_mode": "sometimes"}, environ={})
    custom = load_settings(workspace / "params.yaml", {"governance.policy_file": "rules/policy.yaml"}, environ={})
    assert custom.policy_file == workspace / "rules" / "policy.yaml"  # relative to the params file
    with pytest.raises(ValueError, match="governance policy not found"):
        load_policy(custom.policy_file)


def test_every_refusal_names_the_file_and_key_that_set_its_bar() -> None:
    """Issue 15: a refusal said which rule failed but not where to change its bar."""
    low = dataclasses.replace(GOOD, metrics=_metrics(roc_auc=0.60))
    (failed,) = evaluate(POLICY, "champion", low, "automatic").failed
    assert failed.source == "params.yaml gate.minimums.roc_auc"  # the gate's bar: one place for it
    unfair = BREAKS["fairness.demographic_parity_difference"](GOOD)
    report = evaluate(POLICY, "champion", unfair, "automatic")
    assert "governance/policy.yaml stages.champion.fairness.demographic_parity_difference" in report.summary()
    todo = dataclasses.replace(GOOD, card_facts_missing=("intended_use",))
    (card,) = evaluate(POLICY, "champion", todo, "automatic").failed
    assert card.rule == "model_card" and card.source == "params.yaml model_card.intended_use"


def test_a_bar_kept_in_both_the_gate_and_the_policy_is_refused(tmp_path: Path) -> None:
    """One bar, one place: the shipped policy no longer copies the gate's floors and ceilings."""
    check_single_source(POLICY, list(BARS))  # the shipped pair is fine
    copied = tmp_path / "policy.yaml"
    stage = "  champion:                    # before answering every request\n"
    copied.write_text(
        SETTINGS.policy_file.read_text().replace(stage, stage + "    maximums: {calibration_error: 0.05}\n")
    )
    with pytest.raises(
        ValueError,
        match=r"params\.yaml gate\.maximums\.calibration_error and .*"
        r"stages\.champion\.maximums\.calibration_error",
    ):
        check_single_source(load_policy(copied), list(BARS))


def test_a_gap_that_could_not_be_judged_names_the_minimum_group_size() -> None:
    small = dataclasses.replace(
        GOOD,
        fairness={"demographic_parity_difference": None, "equalized_odds_difference": None},
        fairness_note="age: fewer than two groups of at least 30 rows",
    )
    failed = evaluate(POLICY, "champion", small, "automatic").failed
    assert {r.rule for r in failed} == {"fairness.demographic_parity_difference", "fairness.equalized_odds_difference"}
    assert all("not judged" in r.detail and r.source == "params.yaml schema.min_group_rows" for r in failed)
