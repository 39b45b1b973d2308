"""Evidence probes: each checks one practice in a repository and says what it found.

The table below names every probe, what it looks for and how to get there in this
template; the checks themselves are ``maturity/file_probes.py`` (the repository's files,
through the idioms of ``maturity/idioms.py``) and ``maturity/live_probes.py`` (the
project's state). ``maturity/evidence.py`` says what a probe reports.
"""

from __future__ import annotations

from maturity import file_probes as fp
from maturity import live_probes as lp
from maturity.evidence import Evidence, Kind, Probe

__all__ = ["PROBES", "Evidence", "Probe"]

F: Kind = "file"
L: Kind = "live"
TABLE = (
    # name, kind, what it looks for, how to get there in this template, check
    ("git", F, "code under version control", "git init; commit the code", fp.git_history),
    ("tests", F, "automated tests", "write tests (tests/); make test", fp.automated_tests),
    ("ci", F, "CI that tests, trains or deploys the model", "a CI file running make test (.ci/run)", fp.ci_config),
    ("tracking_code", F, "experiment tracking", "MLflow runs (pipelines/steps/tracking.py)", fp.tracking_code),
    ("data_versioning", F, "data versioning", "make pipeline LEVEL=2 (DVC with a remote)", fp.data_versioning),
    ("validation_code", F, "data validation", "validate batches (features/validation.py)", fp.validation_code),
    ("feature_pipeline", F, "feature engineering in a pipeline", "features in the flow", fp.feature_engineering_code),
    ("feature_store_config", F, "a feature store", "Feast (features/store.py)", fp.feature_store_config),
    ("quality_monitoring", F, "data-quality checks on incoming data", "monitoring/ reports", fp.quality_monitoring),
    ("hpo_code", F, "automated hyper-parameter search", "pipelines/steps/tuning.py", fp.hpo_code),
    ("model_families", F, "selection across model families", "training.search.space", fp.model_families),
    ("registry_code", F, "a model registry", "register models (core/registry.py)", fp.registry_code),
    ("approval_code", F, "a manual approval step", "governance.approvals: true (make approve)", fp.approval_code),
    ("gate_config", F, "automated model validation", "gate thresholds in params.yaml", fp.gate_config),
    ("ab_code", F, "comparison with the model in production", "gate.min_improvement", fp.ab_code),
    ("canary_config", F, "canary or progressive delivery", "serving/canary.yaml", fp.canary_config),
    ("rollback_code", F, "automated rollback", "serving/controller.py rolls back", fp.rollback_code),
    ("metrics_code", F, "the model's metrics recorded", "track metrics in MLflow", fp.metrics_code),
    ("drift_code", F, "drift detection", "Evidently drift reports (monitoring/)", fp.drift_code),
    ("alerting_code", F, "alerts on the model or its data", "monitoring drift alerts", fp.alerting_code),
    ("trigger_policy", F, "retraining started by monitoring", "params.yaml monitoring: trigger", fp.trigger_policy),
    ("policy", F, "automated compliance checks", "governance/policy.yaml", fp.policy_file),
    ("cards_code", F, "model cards", "governance/model_card.py", fp.cards_code),
    ("docs", F, "model documentation", "write the README", fp.documentation),
    ("serving", F, "serving code", "serving/service.py (BentoML)", fp.serving_code),
    ("fairness", F, "fairness metrics (bias detection)", "governance/fairness.py", fp.fairness_code),
    ("tracked_runs", L, "runs with metrics in MLflow", "make pipeline LEVEL=1", lp.tracked_runs),
    ("run_versions", L, "runs name code and data versions", "make pipeline LEVEL=1", lp.run_versions),
    ("logged_model", L, "models logged as versioned artifacts", "make pipeline LEVEL=1", lp.logged_model),
    ("documented_runs", L, "runs carry a description", "make pipeline LEVEL=1", lp.documented_runs),
    ("dvc_in_sync", L, "dvc status clean, remote in sync", "make pipeline LEVEL=2", lp.dvc_in_sync),
    ("validation_results", L, "validation results (Data Docs)", "make pipeline LEVEL=2", lp.validation_results),
    ("engineered_features", L, "a versioned feature table", "make pipeline LEVEL=2", lp.engineered_features),
    ("tuned_runs", L, "an automated search in MLflow", "make pipeline LEVEL=2", lp.tuned_runs),
    ("registry", L, "registry versions with a champion", "make pipeline LEVEL=2", lp.registry_versions),
    ("gate_verdicts", L, "gate verdicts on every version", "make pipeline LEVEL=2", lp.gate_verdicts),
    ("ab_comparison", L, "candidates compared with the champion", "make pipeline LEVEL=2", lp.ab_comparison),
    ("approvals", L, "approvals by people in the trail", "make approve VERSION= APPROVER=", lp.approvals_recorded),
    ("drift_alerts", L, "drift alerts raised", "make pipeline LEVEL=2 (drift alert)", lp.drift_alerts),
    ("feast_registry", L, "the Feast registry and online store", "make pipeline LEVEL=3", lp.feast_registry),
    ("model_selection", L, "a champion chosen across families", "make pipeline LEVEL=3", lp.model_selection),
    ("drift_reports", L, "drift reports", "make pipeline LEVEL=2 (drift alert), make monitor", lp.drift_reports),
    ("monitor_judging", L, "a monitor judging served traffic", "the Level 3 loop (make pipeline)", lp.monitor_judging),
    ("serving_skew", L, "served features match training's join", "the Level 3 loop (make pipeline)", lp.serving_skew),
    ("canary_history", L, "a canary decision", "make canary-demo (or the Level 3 loop)", lp.canary_history),
    ("retraining_triggered", L, "drift-triggered retraining", "the Level 3 loop", lp.retraining_triggered),
    ("model_cards", L, "model cards", "governance/: cards for registered versions", lp.model_cards),
    ("compliance", L, "automated compliance checks", "governance/: policy checks", lp.compliance_reports),
    ("audit_log", L, "an audit trail that verifies", "governance/: audit trail (make audit)", lp.audit_log),
    # Level 4: a preview of what the components allow today.
    ("ranked_drift", L, "root-cause hints: ranked drift", "monitoring/ drift ranking", lp.ranked_drift),
    ("self_healing", L, "rollback and retraining, no human", "the Level 3 loop under drift", lp.self_healing),
    ("explained_fair", L, "explanations and bias detection", "governance/", lp.explanations_and_fairness),
    ("active_learning", F, "active learning", "out of scope", lp.not_in_template("automated data labeling")),
    ("architecture_search", F, "architecture search", "out of scope", lp.not_in_template("architecture search")),
)
PROBES: dict[str, Probe] = {name: Probe(name, kind, what, fix, check) for name, kind, what, fix, check in TABLE}
