"""Policy rules, each made to fail alone: the refusal names that rule and no other."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from core.settings import DEFAULT_PARAMS, load_settings
from governance.policy import Decision, Evidence, Policy, evaluate, load_policy

pytestmark = pytest.mark.unit

POLICY = load_policy(load_settings(DEFAULT_PARAMS, environ={}).policy_file)

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
    report = evaluate(POLICY, stage, GOOD, "automatic")  # type: ignore[arg-type]
    assert report.passed, report.summary()


@pytest.mark.parametrize("stage", ["challenger", "champion"])
@pytest.mark.parametrize("rule", sorted(BREAKS))
def test_each_rule_failing_alone_refuses_and_is_named(stage: str, rule: str) -> None:
    report = evaluate(POLICY, stage, BREAKS[rule](GOOD), "automatic")  # type: ignore[arg-type]
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
