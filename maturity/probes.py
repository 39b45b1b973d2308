"""Evidence probes: each checks one practice in a repository and says what it found.

The table below names every probe, what it looks for and how to get there in this
template; the checks themselves are ``maturity/file_probes.py`` (the repository's files,
through the idioms of ``maturity/idioms.py``) and ``maturity/live_probes.py`` (the
project's state). ``maturity/evidence.py`` says what a probe reports.
"""

from __future__ import annotations

from maturity import file_probes as files
from maturity import live_probes as live
from maturity.evidence import Evidence, Kind, Probe

__all__ = ["PROBES", "Evidence", "Probe"]

F: Kind = "file"
L: Kind = "live"
TABLE = (
    # name, kind, what it looks for, how to get there in this template, check
    ("git", F, "code under version control", "git init; commit the code", files.git_history),
    ("tests", F, "automated tests", "write tests (tests/); make test", files.automated_tests),
    ("ci", F, "CI that tests, trains or deploys the model", "a CI file that runs make test (.ci/run)", files.ci_config),
    (
        "tracking_code",
        F,
        "experiment tracking",
        "track runs in MLflow (pipelines/steps/tracking.py)",
        files.tracking_code,
    ),
    ("data_versioning", F, "data versioning", "make pipeline LEVEL=2 (DVC with a remote)", files.data_versioning),
    ("validation_code", F, "data validation", "validate batches (features/validation.py)", files.validation_code),
    (
        "feature_pipeline",
        F,
        "feature engineering in a pipeline",
        "engineer features in the flow",
        files.feature_engineering_code,
    ),
    (
        "feature_store_config",
        F,
        "a feature store",
        "define features in Feast (features/store.py)",
        files.feature_store_config,
    ),
    ("quality_monitoring", F, "data-quality checks on incoming data", "monitoring/ reports", files.quality_monitoring),
    ("hpo_code", F, "automated hyper-parameter search", "search a space (pipelines/steps/tuning.py)", files.hpo_code),
    (
        "model_families",
        F,
        "selection across model families",
        "training.search.space in params.yaml",
        files.model_families,
    ),
    ("registry_code", F, "a model registry", "register models (core/registry.py)", files.registry_code),
    ("approval_code", F, "a manual approval step", "governance.approvals: true (make approve)", files.approval_code),
    ("gate_config", F, "automated model validation", "set gate thresholds in params.yaml", files.gate_config),
    ("ab_code", F, "comparison with the model in production", "gate.min_improvement over the champion", files.ab_code),
    ("canary_config", F, "canary or progressive delivery", "configure serving/canary.yaml", files.canary_config),
    ("rollback_code", F, "automated rollback", "serving/controller.py rolls back", files.rollback_code),
    ("metrics_code", F, "the model's metrics recorded", "track metrics in MLflow", files.metrics_code),
    ("drift_code", F, "drift detection", "Evidently drift reports (monitoring/)", files.drift_code),
    ("alerting_code", F, "alerts on the model or its data", "monitoring drift alerts", files.alerting_code),
    (
        "trigger_policy",
        F,
        "retraining started by monitoring",
        "params.yaml monitoring: trigger policy",
        files.trigger_policy,
    ),
    ("policy", F, "automated compliance checks", "governance/policy.yaml", files.policy_file),
    ("cards_code", F, "model cards", "governance/model_card.py", files.cards_code),
    ("docs", F, "model documentation", "write the README", files.documentation),
    ("serving", F, "serving code", "serving/service.py (BentoML)", files.serving_code),
    ("fairness", F, "fairness metrics (bias detection)", "governance/fairness.py", files.fairness_code),
    ("tracked_runs", L, "runs with metrics in MLflow", "make pipeline LEVEL=1", live.tracked_runs),
    ("run_versions", L, "runs name code and data versions", "make pipeline LEVEL=1", live.run_versions),
    ("logged_model", L, "models logged as versioned artifacts", "make pipeline LEVEL=1", live.logged_model),
    ("documented_runs", L, "runs carry a description", "make pipeline LEVEL=1", live.documented_runs),
    ("dvc_in_sync", L, "dvc status clean, remote in sync", "make pipeline LEVEL=2", live.dvc_in_sync),
    ("validation_results", L, "validation results (Data Docs)", "make pipeline LEVEL=2", live.validation_results),
    (
        "engineered_features",
        L,
        "a versioned engineered feature table",
        "make pipeline LEVEL=2",
        live.engineered_features,
    ),
    ("tuned_runs", L, "an automated search in MLflow", "make pipeline LEVEL=2", live.tuned_runs),
    ("registry", L, "registry versions with a champion", "make pipeline LEVEL=2", live.registry_versions),
    ("gate_verdicts", L, "gate verdicts on every version", "make pipeline LEVEL=2", live.gate_verdicts),
    ("ab_comparison", L, "candidates compared with the champion", "make pipeline LEVEL=2", live.ab_comparison),
    (
        "approvals",
        L,
        "approvals by people in the audit trail",
        "make approve VERSION= APPROVER= REASON=",
        live.approvals_recorded,
    ),
    ("drift_alerts", L, "drift alerts raised", "make pipeline LEVEL=2 (drift alert)", live.drift_alerts),
    ("feast_registry", L, "the Feast registry and online store", "make pipeline LEVEL=3", live.feast_registry),
    (
        "model_selection",
        L,
        "a champion selected across families, with lineage",
        "make pipeline LEVEL=3",
        live.model_selection,
    ),
    ("drift_reports", L, "drift reports", "make pipeline LEVEL=2 (drift alert), make monitor", live.drift_reports),
    (
        "monitor_judging",
        L,
        "a monitor judging served traffic",
        "the Level 3 loop (make pipeline)",
        live.monitor_judging,
    ),
    ("canary_history", L, "a canary decision", "make canary-demo (or the Level 3 loop)", live.canary_history),
    (
        "retraining_triggered",
        L,
        "drift-triggered retraining",
        "the Level 3 loop (monitoring/)",
        live.retraining_triggered,
    ),
    ("model_cards", L, "model cards", "governance/: model cards for registered versions", live.model_cards),
    (
        "compliance",
        L,
        "automated compliance checks",
        "governance/: policy checks on every version",
        live.compliance_reports,
    ),
    ("audit_log", L, "an audit trail that verifies", "governance/: audit trail (make audit)", live.audit_log),
    # Level 4: a preview of what the components allow today.
    ("ranked_drift", L, "root-cause hints: ranked drifted features", "monitoring/ drift ranking", live.ranked_drift),
    ("self_healing", L, "rollback and retraining without a human", "the Level 3 loop under drift", live.self_healing),
    (
        "explained_fair",
        L,
        "explanations and bias detection",
        "governance/ explanations and fairness",
        live.explanations_and_fairness,
    ),
    (
        "active_learning",
        F,
        "automated labeling, active learning",
        "out of scope",
        live.not_in_template("automated data labeling"),
    ),
    (
        "architecture_search",
        F,
        "automated architecture search",
        "out of scope",
        live.not_in_template("automated architecture search"),
    ),
)
PROBES: dict[str, Probe] = {name: Probe(name, kind, what, fix, check) for name, kind, what, fix, check in TABLE}
