"""Governance on a real MLflow registry: the policy blocks promotions, cards hold real facts, approvals hold."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from core import registry
from core.settings import Settings, load_settings
from features.engineering import FeatureColumns
from governance import audit, evidence
from pipelines.steps import register, tracking
from pipelines.steps.training import TrainedModel, fit_and_score, time_split
from serving import controller
from tests.conftest import LINEAGE, ROOMY_GATE, SMALL_DATA, validated, write_params, write_policy

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def frame(promotion_frame: pd.DataFrame) -> pd.DataFrame:
    return promotion_frame


def train(settings: Settings, frame: pd.DataFrame, columns: FeatureColumns | None = None) -> TrainedModel:
    columns = columns or FeatureColumns.from_schema(settings.schema_)
    split = time_split(frame, settings.schema_, settings.training.holdout_weeks)
    return fit_and_score(split, settings.schema_, columns, "logistic_regression", {"max_iter": 1000}, settings.training)


def submit(
    settings: Settings,
    frame: pd.DataFrame,
    model: TrainedModel,
    lineage: dict[str, str] = LINEAGE,
    evidence: dict[str, Any] | str | None = "validated",
) -> tuple[register.Decision, str]:
    """Log and gate ``model`` as the training flow does; ``evidence``: its data's validation results (or none)."""
    if evidence == "validated":
        evidence = validated(settings, frame)
    assert not isinstance(evidence, str)
    logged = tracking.log_training_run(
        settings, model, data_version=LINEAGE["data_version"], training_frame=frame, data_validation=evidence
    )
    return register.gate_and_register(settings, model, logged.run_id, logged.model_uri, lineage), logged.run_id


def with_policy(settings: Settings, folder: Path, **rules: Any) -> Settings:
    path = write_policy(folder, **rules)
    return settings.model_copy(update={"governance": settings.governance.model_copy(update={"policy_file": path})})


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """One store for the refusals: each candidate is refused, so the next still bids for champion.

    The gate's invariance check on the sensitive attribute is left out here, so that the
    policy (a second, independent line of defence) is what meets a model that reads it.
    """
    folder = tmp_path_factory.mktemp("refusals")
    gate = {**ROOMY_GATE, "behaviour": {"increasing": {}, "invariant": ["customer_id"]}}
    write_params(folder, data=SMALL_DATA, gate=gate)
    yield load_settings(folder / "params.yaml", environ={})


def _refused_by(decision: register.Decision) -> list[str]:
    assert decision.compliance is not None
    return [r.rule for r in decision.compliance.failed]


def test_a_model_reading_the_sensitive_attribute_is_refused(shared: Settings, frame: pd.DataFrame) -> None:
    full = FeatureColumns.from_schema(shared.schema_)
    with_gender = FeatureColumns(full.numeric, (*full.categorical, "gender"))
    decision, _ = submit(shared, frame, train(shared, frame, with_gender))
    assert decision.verdict.passed  # the gate let it through here; the policy does not
    assert decision.version is not None and decision.alias is None
    assert _refused_by(decision) == ["features.no_protected"]
    assert "gender" in decision.summary and "champion" not in registry.aliases(shared)
    tags = registry.client(shared).get_model_version(shared.mlflow.registered_model, decision.version).tags
    assert tags["policy_champion"] == "refused" and tags["policy_champion_failed"] == "features.no_protected"


CASES: dict[str, dict[str, Any]] = {
    "fairness.demographic_parity_difference": {
        "fairness": {"demographic_parity_difference": 0.0001, "equalized_odds_difference": None}
    },
    # The policy may add a bar only for a metric the gate does not bound (one bar, one place).
    "metric.minimum.f1": {"minimums": {"f1": 0.99}},
}
# Every rule failing alone is covered without a registry in test_policy.py; here, on a real
# one, fairness runs in the fast tier and the other refusals in the slow tier (seconds each).
SLOW = pytest.mark.slow


@pytest.mark.parametrize(
    "rule", [pytest.param(rule, marks=[SLOW] if not rule.startswith("fairness") else []) for rule in sorted(CASES)]
)
def test_a_policy_rule_failing_alone_blocks_the_promotion(
    rule: str, shared: Settings, frame: pd.DataFrame, tmp_path: Path
) -> None:
    settings = with_policy(shared, tmp_path, **CASES[rule])
    decision, _ = submit(settings, frame, train(settings, frame))
    assert decision.alias is None and _refused_by(decision) == [rule]
    assert rule in decision.note and "champion" not in registry.aliases(settings)


@SLOW
def test_incomplete_lineage_blocks_the_promotion(shared: Settings, frame: pd.DataFrame) -> None:
    lineage = {k: v for k, v in LINEAGE.items() if k != "features_version"}
    decision, _ = submit(shared, frame, train(shared, frame), lineage)
    assert decision.alias is None and _refused_by(decision) == ["lineage"]
    assert decision.compliance is not None and "features_version" in decision.compliance.summary()


def _failing(settings: Settings, frame: pd.DataFrame) -> dict[str, Any]:
    """A batch the real suite fails (every label a default), with its record: as if a failed batch reached data/raw."""
    from features.validation import validate_batch
    from features.validation_records import validation_evidence, write_record

    broken = frame.assign(**{settings.schema_.label: 1})
    batch = settings.raw_dir / "week_2026-01-05.parquet"
    broken.to_parquet(batch, index=False)
    outcome = validate_batch(broken, settings, batch.stem)
    assert not outcome.success
    write_record(batch, outcome)
    return validation_evidence([batch], LINEAGE["data_version"])


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("none", "no validation results recorded"),
        ("failing", "failed: week_2026-01-05.parquet (its validation failed)"),
        ("another version", "are for data version " + "9" * 32),
    ],
)
def test_missing_failing_or_foreign_validation_results_block_the_promotion(
    case: str, expected: str, shared: Settings, frame: pd.DataFrame
) -> None:
    """Evidence, not assertion: the policy reads the validation results recorded for the exact data version."""
    evidence: dict[str, Any] | None = None
    if case == "failing":
        evidence = _failing(shared, frame)
    elif case == "another version":
        evidence = validated(shared, frame, data_version="9" * 32)
    decision, _ = submit(shared, frame, train(shared, frame), evidence=evidence)
    assert decision.alias is None and _refused_by(decision) == ["data_validation"]
    assert decision.compliance is not None and expected in decision.compliance.summary()


def test_a_registered_version_has_a_card_with_its_real_metrics_and_lineage(
    settings: Settings, frame: pd.DataFrame
) -> None:
    decision, run_id = submit(settings, frame, train(settings, frame))
    assert (decision.version, decision.alias) == ("1", "champion"), decision.summary
    record = evidence.version_record(settings, "1")
    assert {"model_card.md", "model_card.html", "importance.png", "fairness.json", "compliance_champion.json"} <= set(
        record.artifacts
    )
    card = evidence.read_artifact(settings, record, "model_card.md")
    assert card is not None
    run = registry.client(settings).get_run(run_id)
    for metric in ("roc_auc", "pr_auc", "brier"):
        assert f"| {metric} | {run.data.metrics[metric]:.4f} |" in card
    assert f"| training_run | {run_id} |" in card
    assert f"| data_version | {LINEAGE['data_version']} |" in card
    assert f"| git_commit | {run.data.tags['git_commit']} |" in card
    assert "By `gender` (by value):" in card and "| female |" in card
    # The data section describes the contract; the people-written text is the dataset's own (params.yaml).
    assert "| customer_id | entity |" in card and "| region | categorical | north, south, east, west, central |" in card
    assert settings.model_card.intended_use in card
    assert "champion policy" in card and "promotion" in card  # verdicts and the approval history
    html = (evidence.version_dir(settings, "1") / "model_card.html").read_text()
    assert "data:image/png;base64," in html and f"{run.data.metrics['roc_auc']:.4f}" in html
    report = json.loads(evidence.read_artifact(settings, record, "compliance_champion.json") or "{}")
    assert report["passed"] and report["stage"] == "champion"
    assert record.tags["policy_champion"] == "passed"
    events = [(e.event, e.version) for e in audit.history(settings)]
    assert events == [("gate_verdict", None), ("registration", "1"), ("policy_verdict", "1"), ("promotion", "1")]
    assert audit.verify(settings).ok


def test_manual_mode_holds_the_first_champion_until_approved(workspace: Path, frame: pd.DataFrame) -> None:
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["governance"] = {"approval_mode": "manual"}
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    settings = load_settings(workspace / "params.yaml", environ={})
    decision, _ = submit(settings, frame, train(settings, frame))
    assert decision.version == "1" and decision.alias is None and "make approve VERSION=1" in decision.note
    assert registry.aliases(settings) == {}
    with pytest.raises(ValueError, match="reason"):
        controller.approve(settings, "1", approver="risk-officer", reason=" ")
    said = controller.approve(settings, "1", approver="risk-officer", reason="card and fairness reviewed")
    assert "promoted to champion" in said and registry.aliases(settings) == {"champion": "1"}
    card = evidence.read_artifact(settings, evidence.version_record(settings, "1"), "model_card.md") or ""
    assert f"| approval | risk-officer (os user: {getpass.getuser()}) | card and fairness reviewed |" in card
    assert "| promotion | risk-officer | approved: card and fairness reviewed |" in card


def test_a_forged_approval_is_refused_and_the_trail_names_it(workspace: Path, frame: pd.DataFrame) -> None:
    """An approval line appended by hand, chained correctly to the last line: the head, which only the trail's
    writer moves, does not know it. The policy refuses to count it, and `make audit` names the line."""
    from governance.cli import main
    from governance.promotion import PromotionRefused, promote
    from tests.governance.test_audit import _forge

    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["governance"] = {"approval_mode": "manual"}
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    settings = load_settings(workspace / "params.yaml", environ={})
    decision, _ = submit(settings, frame, train(settings, frame))
    assert decision.version == "1" and decision.alias is None
    _forge(settings, "approval", "1", "mallory")
    forged_line = len(audit.audit_path(settings).read_text().splitlines())
    with pytest.raises(PromotionRefused, match=rf"approval \(the audit trail does not verify: line {forged_line}"):
        promote(settings, "1", actor="tests", reason="forged")
    assert registry.aliases(settings) == {}
    assert main(["--params", str(workspace / "params.yaml"), "audit"]) == 1


def test_an_approval_records_who_ran_it_and_its_card_escapes_free_text(workspace: Path, frame: pd.DataFrame) -> None:
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["governance"] = {"approval_mode": "manual"}
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    settings = load_settings(workspace / "params.yaml", environ={})
    submit(settings, frame, train(settings, frame))
    injected = "<script>alert('card')</script>"
    controller.approve(settings, "1", approver="risk-officer", reason=injected)
    approval = next(e for e in audit.history(settings) if e.event == "approval")
    assert approval.actor == "risk-officer" and approval.details["os_user"] == getpass.getuser()
    page = (evidence.version_dir(settings, "1") / "model_card.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert" in page


def test_a_rejected_challenger_is_retired_and_never_promoted(settings: Settings, frame: pd.DataFrame) -> None:
    from governance.promotion import PromotionRefused
    from serving.controller import promote

    full = FeatureColumns.from_schema(settings.schema_)
    weak = FeatureColumns(tuple(c for c in full.numeric if c != "num_late_payments_12m"), full.categorical)
    first, _ = submit(settings, frame, train(settings, frame, weak))
    second, _ = submit(settings, frame, train(settings, frame, full))
    assert (first.alias, second.alias, second.version) == ("champion", "challenger", "2")

    said = controller.reject(settings, "2", approver="risk-officer", reason="explanations do not hold up")
    assert "retired" in said and registry.aliases(settings) == {"champion": "1"}
    tags = registry.client(settings).get_model_version(settings.mlflow.registered_model, "2").tags
    assert tags["canary"] == "rejected" and tags["approval"] == "rejected" and tags["approval_by"] == "risk-officer"
    with pytest.raises(PromotionRefused, match=r"approval \(rejected by risk-officer: explanations do not hold up\)"):
        promote(settings, "2")  # automatic mode too: a recorded rejection blocks
    assert registry.aliases(settings) == {"champion": "1"}
    events = [(e.event, e.actor) for e in audit.history(settings) if e.version == "2"]
    assert ("rejection", "risk-officer") in events and ("rollback", "risk-officer") in events
    assert events[-1][0] == "policy_verdict"  # the refused promotion, recorded
    assert audit.verify(settings).ok
