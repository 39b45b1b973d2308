"""The gate-and-register step: from a trained candidate to a registry version with a role, only if allowed.

1. The validation gate (``pipelines/steps/gate.py``) judges the candidate against the champion.
   A rejected candidate, or any candidate in ``gate.dry_run``, is registered nowhere; its
   run still records the verdict.
2. A passing candidate is registered, without an alias yet, and governed
   (``governance/review.py``): fairness and explanation logged, model card written, and
   the policy for the role it would take evaluated (``challenger``, or ``champion`` for
   the first model ever). The compliance report goes to MLflow and the registry tags.
3. Only if the policy passes does the alias move (``governance/promotion.py``). Refused,
   the version keeps no alias and the refusal names every failing rule; in manual
   approval mode a version that lacks only an approval waits for ``make approve``.

Every step is recorded in the audit trail (``governance/audit.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import registry
from core.settings import Settings
from features import store
from governance import audit, promotion, review
from governance.policy import ComplianceReport, Stage
from pipelines.results import DataVersions, Registration, TrainingOutcome
from pipelines.steps import gate, log, tracking
from pipelines.steps.training import TrainedModel, evaluate
from serving.models import load_alias

ACTOR = "training-pipeline"


@dataclass(frozen=True)
class Decision:
    verdict: gate.GateVerdict
    version: str | None
    alias: str | None
    note: str
    compliance: ComplianceReport | None = None

    @property
    def summary(self) -> str:
        if self.compliance is None:
            return self.verdict.summary()
        return f"{self.verdict.summary()}; {self.compliance.summary()}"


def slice_metrics(
    candidate: gate.ModelUnderTest, holdout: pd.DataFrame, settings: Settings
) -> dict[str, dict[str, dict[str, float]]]:
    """The candidate's metrics on each group of each gate slice, for its model card."""
    label, threshold = settings.schema_.label, settings.training.decision_threshold
    y, risk = holdout[label].to_numpy(), candidate.risk(holdout)
    found: dict[str, dict[str, dict[str, float]]] = {}
    for name, spec in settings.gate.slices.items():
        groups: dict[str, dict[str, float]] = {}
        for group, mask in gate.slice_groups(holdout, spec):
            inside = mask.to_numpy()
            if not inside.any():
                continue
            values = {"rows": float(inside.sum()), "default_rate": float(y[inside].mean())}
            if len(np.unique(y[inside])) == 2:
                values.update(evaluate(y[inside], risk[inside], threshold))
            groups[group] = values
        found[name] = groups
    return found


def gate_and_register(
    settings: Settings, trained: TrainedModel, run_id: str, model_uri: str, lineage: dict[str, str]
) -> Decision:
    """Judge ``trained`` (logged as ``run_id``/``model_uri``) on its holdout; register and govern it if it passes."""
    champion = load_alias(settings, registry.CHAMPION)
    candidate = gate.ModelUnderTest(trained.model, trained.columns)
    incumbent = gate.ModelUnderTest(champion.model, champion.columns, f"v{champion.version}") if champion else None
    verdict = gate.judge(candidate, incumbent, trained.split.holdout, settings)
    tracking.log_verdict(settings, run_id, verdict)
    if settings.level < 3:
        incumbent_version = champion.version if champion else None
        return _register_ungoverned(settings, verdict, trained, run_id, model_uri, lineage, incumbent_version)
    audit.record(
        settings,
        "gate_verdict",
        actor=ACTOR,
        reason=verdict.summary(),
        details={
            "run_id": run_id,
            "passed": verdict.passed,
            "dry_run": settings.gate.dry_run,
            "compared_with": f"v{champion.version}" if champion else None,
        },
    )

    if not verdict.passed:
        return Decision(verdict, None, None, "not registered; the champion stays")
    if settings.gate.dry_run:
        return Decision(verdict, None, None, "dry run: nothing registered")
    stage: Stage = "challenger" if champion else "champion"
    tags = _version_tags(settings, trained, verdict, run_id, lineage, champion.version if champion else None)
    version = registry.register(settings, model_uri, run_id, tags, alias=None)
    audit.record(
        settings,
        "registration",
        actor=ACTOR,
        version=version,
        reason=f"passed the validation gate ({verdict.summary()}); candidate for {stage}",
        details={"run_id": run_id, "model_uri": model_uri, "data_version": lineage.get("data_version")},
    )
    slices = slice_metrics(candidate, trained.split.holdout, settings)
    report = review.review_new_version(
        settings, version, stage, trained.model, trained.columns, trained.split.holdout, actor=ACTOR, slices=slices
    )
    if report.passed:
        promotion.give_role(settings, version, stage, actor=ACTOR, reason=f"passed the gate and the {stage} policy")
        return Decision(verdict, version, stage, f"registered as {stage}", report)
    if report.only_waiting_for_approval:
        note = f"registered; waits for an approval to become {stage}: make approve VERSION={version} APPROVER= REASON="
    else:
        note = f"registered without a role: the {stage} policy refused it ({', '.join(r.rule for r in report.failed)})"
    return Decision(verdict, version, None, note, report)


def _register_ungoverned(
    settings: Settings,
    verdict: gate.GateVerdict,
    trained: TrainedModel,
    run_id: str,
    model_uri: str,
    lineage: dict[str, str],
    champion_version: str | None,
) -> Decision:
    """Maturity Level 2: the gate alone decides; no policy review, model card or audit trail.

    Governance at Level 2 is "basic model registry, manual approval workflows": a passing
    candidate is registered with its role, and a person decides what happens next
    (pipelines/levels.py). Level 3 governs every version (the rest of this module).
    """
    if not verdict.passed:
        return Decision(verdict, None, None, "not registered; the champion stays")
    if settings.gate.dry_run:
        return Decision(verdict, None, None, "dry run: nothing registered")
    alias = registry.CHALLENGER if champion_version else registry.CHAMPION
    tags = _version_tags(settings, trained, verdict, run_id, lineage, champion_version)
    version = registry.register(settings, model_uri, run_id, tags, alias=alias)
    return Decision(verdict, version, alias, f"registered as {alias} (Level {settings.level}: no policy review)")


def _version_tags(
    settings: Settings,
    trained: TrainedModel,
    verdict: gate.GateVerdict,
    run_id: str,
    lineage: dict[str, str],
    champion_version: str | None,
) -> dict[str, str]:
    """What a registered version carries at every level: its run, data, code, settings and gate verdict."""
    return {
        "training_run": run_id,
        **lineage,
        "git_commit": tracking.code_version().commit,
        "params_digest": tracking.settings_digest(settings),
        "model_family": trained.family,
        "gate_verdict": "passed",
        "gate_rules": str(len(verdict.rules)),
        "gate_compared_with": f"v{champion_version}" if champion_version else "none (first champion)",
    }


def gate_and_register_step(settings: Settings, outcome: TrainingOutcome, versions: DataVersions) -> Registration:
    """Judge the candidate against the champion; register it only if every rule passes."""
    # Whether the data passed its contract is evidence on the run (governance/data_validation.json,
    # logged by the train step), which the policy reads; it is not asserted here.
    lineage = {"data_version": versions.raw, "features_version": versions.features}
    if settings.level >= 3:  # Level 2 trains without the feature store
        lineage |= {"feature_service": settings.features.service_name, "feature_views": store.HISTORY_VIEW}
    decision = gate_and_register(settings, outcome.trained, outcome.run_id, outcome.model_uri, lineage)
    logger = log()
    for rule in decision.verdict.rules:
        (logger.info if rule.passed else logger.warning)("%s", rule)
    if decision.compliance is not None:
        for result in decision.compliance.rules:
            (logger.info if result.passed else logger.warning)("policy %s", result)
    if decision.alias:
        logger.info("gate %s: registered version %s as %s", decision.summary, decision.version, decision.alias)
    elif decision.version:
        logger.warning("version %s: %s", decision.version, decision.note)
    else:
        logger.warning("gate %s; %s", decision.summary, decision.note)
    refused = [*decision.verdict.failed, *(decision.compliance.failed if decision.compliance else [])]
    return Registration(
        decision.summary,
        [str(r) for r in decision.verdict.rules],
        decision.verdict.passed,
        decision.version,
        decision.alias,
        decision.note,
        [r.explained for r in refused],
    )


def registration_of_flow_run(settings: Settings, flow_run_id: str) -> Registration:
    """What a training flow run that ran elsewhere (a deployment, on a worker) registered, read from MLflow.

    Its training run carries the flow run's id (``tracking.prefect_lineage``), the gate's
    verdict (``tracking.log_verdict``) and, if it passed, the version created from it
    with the role governance gave that version.
    """
    client = registry.client(settings)
    runs = client.search_runs(
        [tracking.use_experiment(settings)],
        filter_string=f"tags.{tracking.FLOW_RUN_TAG} = '{flow_run_id}'",
    )
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]  # not the search's candidates
    if not parents:
        return Registration("no training run was logged", [], False, None, None, "the retraining logged nothing")
    run = parents[0]
    verdict = run.data.tags.get("gate_summary", "no gate verdict recorded")
    passed = run.data.tags.get("gate_verdict") == "passed"
    versions = client.search_model_versions(f"run_id = '{run.info.run_id}'")
    if not versions:
        return Registration(verdict, [], passed, None, None, "not registered; the champion stays")
    version = str(max(int(v.version) for v in versions))
    # The registry's search leaves a version's aliases out: read them from the model.
    held = registry.aliases(settings)
    roles = [alias for alias in (registry.CHALLENGER, registry.CHAMPION) if held.get(alias) == version]
    alias = roles[0] if roles else None
    note = f"registered as {alias}" if alias else "registered without a role (see its model card)"
    return Registration(verdict, [], passed, version, alias, note)
