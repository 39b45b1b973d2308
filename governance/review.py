"""The governance steps a version goes through, as plain functions the pipelines and serving call.

* ``assess_version``: right after registration, fairness on the holdout and the global
  explanation, logged to the version's run (and copied under the state folder).
* ``publish_card``: (re)write the model card from what is known now.
* ``check``: evaluate the policy for a stage, publish the compliance report (MLflow
  artifact, registry tags, state folder) and record the verdict in the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import registry
from core.registry import client
from core.settings import Settings, shown_path
from features.engineering import FeatureColumns, features_of
from governance import audit, explain, fairness
from governance.evidence import ARTIFACTS, collect, version_dir, version_record
from governance.model_card import Card, build
from governance.policy import Bar, ComplianceReport, Policy, Stage, check_single_source, evaluate, load_policy

SliceMetrics = Mapping[str, Mapping[str, Mapping[str, float]]]


def gate_bars(settings: Settings) -> tuple[Bar, ...]:
    """The validation gate's metric floors and ceilings: they hold for the policy too, set in params.yaml only."""
    gate = settings.gate
    bars = [Bar("minimum", str(m), v, settings.source(f"gate.minimums.{m}")) for m, v in gate.minimums.items()]
    bars += [Bar("maximum", str(m), v, settings.source(f"gate.maximums.{m}")) for m, v in gate.maximums.items()]
    return tuple(bars)


def policy_of(settings: Settings) -> Policy:
    """The policy file, refused if it keeps a copy of a bar the gate sets (one bar, one place)."""
    policy = load_policy(settings.policy_file, shown_path(settings.policy_file))
    check_single_source(policy, list(gate_bars(settings)))
    return policy


def _save(settings: Settings, version: str, run_id: str, name: str, content: str | bytes) -> Path:
    """Write one artifact under the state folder and log the same file to the run."""
    path = version_dir(settings, version) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    client(settings).log_artifact(run_id, str(path), ARTIFACTS)
    return path


def assess_version(
    settings: Settings,
    version: str,
    model: Any,
    columns: FeatureColumns,
    holdout: pd.DataFrame,
    slices: SliceMetrics | None = None,
) -> dict[str, Any]:
    """Fairness and global importance of a registered version, on its holdout; logged."""
    record = version_record(settings, version)
    schema = settings.schema_
    probability = np.asarray(model.predict_proba(features_of(holdout, columns))[:, 1])
    result = fairness.assess(
        holdout[schema.label].to_numpy(),
        probability,
        holdout[list(schema.sensitive)],
        settings.training.decision_threshold,
        bands=schema.sensitive_bands,
        quantiles=schema.sensitive_quantiles,
        min_group_rows=schema.min_group_rows,
    )
    importance = explain.global_importance(model, columns, holdout, schema.label, settings.training.seed)
    png = explain.importance_png(importance, f"{settings.mlflow.registered_model} v{version}")
    _save(settings, version, record.run_id, "fairness.json", json.dumps(result, indent=2))
    _save(settings, version, record.run_id, "importance.json", json.dumps([asdict(i) for i in importance], indent=2))
    _save(settings, version, record.run_id, "importance.png", png)
    if slices is not None:
        _save(settings, version, record.run_id, "slices.json", json.dumps(slices, indent=2))
    return result


def publish_card(settings: Settings, version: str, policy: Policy | None = None) -> Card:
    """Build the card from the registry, the run and the audit trail; log and write it."""
    record = version_record(settings, version)
    card = build(settings, record, policy or policy_of(settings))
    _save(settings, version, record.run_id, "model_card.md", card.markdown)
    _save(settings, version, record.run_id, "model_card.html", card.html)
    return card


def _status(report: ComplianceReport) -> str:
    if report.passed:
        return "passed"
    return "awaiting_approval" if report.only_waiting_for_approval else "refused"


def check(
    settings: Settings, version: str, stage: Stage, *, actor: str, policy: Policy | None = None
) -> ComplianceReport:
    """Evaluate ``stage``'s policy for ``version``; publish the report and audit the verdict."""
    policy = policy or policy_of(settings)
    report = evaluate(
        policy,
        stage,
        collect(settings, version),
        settings.governance.approval_mode,
        gate_bars(settings),
        shown_path(settings.params_file),
    )
    record = version_record(settings, version)
    _save(settings, version, record.run_id, f"compliance_{stage}.json", report.to_json())
    _save(settings, version, record.run_id, f"compliance_{stage}.md", report.to_markdown())
    registry.set_version_tags(
        settings,
        version,
        {
            f"policy_{stage}": _status(report),
            f"policy_{stage}_failed": ",".join(r.rule for r in report.failed),
            "policy_version": policy.version,
        },
    )
    try:
        audit.record(
            settings,
            "policy_verdict",
            actor=actor,
            version=version,
            reason=report.summary(),
            details={"stage": stage, "passed": report.passed, "failed": [r.rule for r in report.failed]},
        )
    except audit.AuditTrailBroken:
        if report.passed:
            raise
        # Refused because the trail does not verify: the refusal stands; the trail is not written to.
    return report


def review_new_version(
    settings: Settings,
    version: str,
    stage: Stage,
    model: Any,
    columns: FeatureColumns,
    holdout: pd.DataFrame,
    *,
    actor: str,
    slices: SliceMetrics | None = None,
) -> ComplianceReport:
    """Everything a freshly registered version goes through before it may take ``stage``.

    The card is written before the policy runs (the policy checks that it exists and is
    complete) and again after, so it shows the verdict.
    """
    policy = policy_of(settings)
    assess_version(settings, version, model, columns, holdout, slices)
    publish_card(settings, version, policy)
    report = check(settings, version, stage, actor=actor, policy=policy)
    publish_card(settings, version, policy)
    return report
