"""Evidence probes: each checks one practice in a repository and says what it found.

The table below names every probe, what it looks for and how to get there in this
template; the checks themselves are ``maturity/file_probes.py`` (the repository's files)
and ``maturity/live_probes.py`` (the project's state). ``maturity/evidence.py`` says what a
probe reports.
"""

from __future__ import annotations

from maturity import file_probes as files
from maturity import live_probes as live
from maturity.evidence import Evidence, Probe

__all__ = ["PROBES", "Evidence", "Probe"]

P = Probe
PROBES: dict[str, Probe] = {
    p.name: p
    for p in (
        P("git", "file", "code under version control", "git init; commit the code", files.git_history),
        P("tests", "file", "automated tests", "write tests (tests/); make test", files.automated_tests),
        P("ci", "file", "CI that runs the tests", "a CI file that runs make test (.ci/run)", files.ci_config),
        P(
            "tracking_code",
            "file",
            "experiment tracking in code",
            "track runs in MLflow (pipelines/steps/tracking.py)",
            files.tracking_code,
        ),
        P(
            "dvc_config",
            "file",
            "DVC with a remote, tracking data",
            "make pipeline LEVEL=2 (DVC with a remote)",
            files.dvc_config,
        ),
        P(
            "validation_code",
            "file",
            "a data validation library",
            "validate batches (features/validation.py)",
            files.validation_code,
        ),
        P(
            "feature_pipeline",
            "file",
            "feature engineering inside a pipeline",
            "engineer features in the flow",
            files.feature_engineering_code,
        ),
        P(
            "hpo_code",
            "file",
            "hyper-parameter search in code",
            "search a space (pipelines/steps/tuning.py)",
            files.hpo_code,
        ),
        P(
            "model_families",
            "file",
            "a search across model families",
            "training.search.space in params.yaml",
            files.model_families,
        ),
        P(
            "registry_code",
            "file",
            "a model registry in code",
            "register models (core/registry.py)",
            files.registry_code,
        ),
        P("gate_config", "file", "validation gate thresholds", "set gate thresholds in params.yaml", files.gate_config),
        P(
            "feature_store_config",
            "file",
            "a Feast repository",
            "define features in Feast (features/store.py)",
            files.feature_store_config,
        ),
        P("canary_config", "file", "canary steps and rollback", "configure serving/canary.yaml", files.canary_config),
        P("drift_code", "file", "drift detection code", "Evidently drift reports (monitoring/)", files.drift_code),
        P(
            "trigger_policy",
            "file",
            "a retraining trigger policy",
            "params.yaml monitoring: trigger policy",
            files.trigger_policy,
        ),
        P("policy", "file", "policy as code", "governance/policy.yaml", files.policy_file),
        P("docs", "file", "a README describing the model", "write the README", files.documentation),
        P("tracked_runs", "live", "runs with metrics in MLflow", "make pipeline LEVEL=1", live.tracked_runs),
        P("run_versions", "live", "runs name code and data versions", "make pipeline LEVEL=1", live.run_versions),
        P("logged_model", "live", "models logged as versioned artifacts", "make pipeline LEVEL=1", live.logged_model),
        P("documented_runs", "live", "runs carry a description", "make pipeline LEVEL=1", live.documented_runs),
        P("dvc_in_sync", "live", "dvc status clean, remote in sync", "make pipeline LEVEL=2", live.dvc_in_sync),
        P(
            "validation_results",
            "live",
            "validation results (Data Docs)",
            "make pipeline LEVEL=2",
            live.validation_results,
        ),
        P(
            "engineered_features",
            "live",
            "a versioned engineered feature table",
            "make pipeline LEVEL=2",
            live.engineered_features,
        ),
        P("tuned_runs", "live", "an automated search in MLflow", "make pipeline LEVEL=2", live.tuned_runs),
        P("registry", "live", "registry versions with a champion", "make pipeline LEVEL=2", live.registry_versions),
        P("gate_verdicts", "live", "gate verdicts on every version", "make pipeline LEVEL=2", live.gate_verdicts),
        P(
            "ab_comparison",
            "live",
            "candidates compared with the champion",
            "make pipeline LEVEL=2",
            live.ab_comparison,
        ),
        P(
            "feast_registry",
            "live",
            "the Feast registry and online store",
            "make pipeline LEVEL=3",
            live.feast_registry,
        ),
        P(
            "model_selection",
            "live",
            "a champion selected across families, with lineage",
            "make pipeline LEVEL=3",
            live.model_selection,
        ),
        P(
            "drift_reports",
            "live",
            "drift reports",
            "make pipeline LEVEL=2 (drift alert), make monitor",
            live.drift_reports,
        ),
        P(
            "monitor_judging",
            "live",
            "a monitor judging served traffic",
            "the Level 3 loop (make pipeline; pipelines/flows/monitor.py)",
            live.monitor_judging,
        ),
        P("canary_history", "live", "a canary decision", "make canary-demo (or the Level 3 loop)", live.canary_history),
        P(
            "retraining_triggered",
            "live",
            "drift-triggered retraining",
            "the Level 3 loop (monitoring/)",
            live.retraining_triggered,
        ),
        P("model_cards", "live", "model cards", "governance/: model cards for registered versions", live.model_cards),
        P(
            "compliance",
            "live",
            "automated compliance checks",
            "governance/: policy checks on every version",
            live.compliance_reports,
        ),
        P("audit_log", "live", "an audit log", "governance/: audit trail (make audit)", live.audit_log),
        # Level 4: a preview of what the components allow today.
        P(
            "ranked_drift",
            "live",
            "root-cause hints: ranked drifted features",
            "monitoring/ drift ranking",
            live.ranked_drift,
        ),
        P(
            "self_healing",
            "live",
            "rollback and retraining without a human",
            "the Level 3 loop under drift",
            live.self_healing,
        ),
        P(
            "explained_fair",
            "live",
            "explanations and bias detection",
            "governance/ explanations and fairness",
            live.explanations_and_fairness,
        ),
        P(
            "active_learning",
            "file",
            "automated labeling, active learning",
            "out of scope",
            live.not_in_template("automated data labeling"),
        ),
        P(
            "architecture_search",
            "file",
            "automated architecture search",
            "out of scope",
            live.not_in_template("automated architecture search"),
        ),
    )
}
