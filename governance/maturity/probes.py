"""Evidence probes: each checks one practice in a repository and says what it found.

A probe is ``file`` (the practice is present *and configured* in the repository) or
``live`` (the project's state shows it happened: runs, registry aliases, DVC status,
the Feast registry, reports, the audit log). A live probe on a repository with no
reachable state answers ``unverified`` rather than guessing; as soon as a state folder
exists, live evidence is required.

What the monitoring and governance components leave behind is named in the
``*_GLOBS`` and ``*_TAGS`` constants below: adjust them there when those components
change what they write.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from governance.maturity.target import Target

Status = Literal["pass", "fail", "unverified"]
Kind = Literal["file", "live"]

# Where the other components leave their evidence, relative to the state folder.
DRIFT_REPORT_GLOBS = ("monitoring/reports/*drift*.json", "monitoring/reports/*drift*.html", "reports/**/*drift*.json")
DRIFT_ALERT_GLOBS = ("monitoring/alerts/*.json",)  # Level 2's alert files: report.as_dict(), ranked columns
MONITOR_STATE = "monitoring/state.json"  # the Level 3 monitor's memory (windows judged, last retraining)
# A training run started by the monitor carries `trigger` (drift | critical_feature | quality_drop);
# runs started by a person carry trigger=manual.
TRIGGER_TAG, MANUAL_TRIGGER, TRIGGER_FEATURES_TAG = "trigger", "manual", "trigger_features"
MODEL_CARD_GLOBS = ("**/model_card*.md", "**/model_cards/*.md", "**/model-card*.md")
COMPLIANCE_GLOBS = ("**/compliance_*.json", "**/compliance*.json")
AUDIT_LOG_GLOBS = ("audit.jsonl", "governance/audit.jsonl", "**/audit.jsonl")
EXPLANATION_GLOBS = ("**/*explanation*", "**/*shap*", "**/*importance*")
FAIRNESS_GLOBS = ("**/*fairness*",)
CI_FILES = (".github/workflows/*.yml", ".github/workflows/*.yaml", ".gitlab-ci.yml", ".ci/*", "Jenkinsfile")


@dataclass(frozen=True)
class Evidence:
    probe: str
    kind: Kind
    status: Status
    detail: str
    fix: str

    @property
    def ok(self) -> bool:
        return self.status != "fail"


@dataclass(frozen=True)
class Probe:
    name: str
    kind: Kind
    what: str  # what the probe looks for, in a few words
    fix: str  # how to get there in this template
    check: Callable[[Target], tuple[bool, str]]

    def run(self, target: Target) -> Evidence:
        if self.kind == "live" and not target.live:
            why = target.settings_problem or "no state folder: the project has not run here"
            return Evidence(self.name, self.kind, "unverified", f"not verified live ({why})", self.fix)
        try:
            passed, detail = self.check(target)
        except Exception as exc:  # a broken store is evidence too: report it, never crash the assessment
            passed, detail = False, f"could not check: {type(exc).__name__}: {str(exc)[:200]}"
        return Evidence(self.name, self.kind, "pass" if passed else "fail", detail, self.fix)


def _glob_state(target: Target, patterns: tuple[str, ...]) -> list[Path]:
    state = target.state
    if state is None:
        return []
    return sorted({p for pattern in patterns for p in state.glob(pattern) if p.is_file()})


def _listed(target: Target, paths: list[Path], limit: int = 3) -> str:
    shown = ", ".join(target.rel(p) for p in paths[:limit])
    return shown + (f" (+{len(paths) - limit} more)" if len(paths) > limit else "")


# --- files and configuration ------------------------------------------------------------------


def git_history(t: Target) -> tuple[bool, str]:
    head = t.git("rev-parse", "--short", "HEAD")
    if head is None:
        return False, "not a git repository with a commit"
    count = t.git("rev-list", "--count", "HEAD") or "?"
    return True, f"git repository, {count} commit(s), HEAD {head}"


def automated_tests(t: Target) -> tuple[bool, str]:
    tests = [p for p in t.files() if re.match(r"(test_.*|.*_test)\.py$", p.name) and "def test_" in t.text(p)]
    return bool(tests), f"{len(tests)} test module(s), e.g. {_listed(t, tests, 2)}" if tests else "no test modules"


def ci_config(t: Target) -> tuple[bool, str]:
    found = sorted({p for pattern in CI_FILES for p in t.root.glob(pattern) if p.is_file()})
    running = [p for p in found if re.search(r"pytest|make test|tox|nox", t.text(p))]
    if not running:
        return False, "no CI configuration that runs the tests" + (f" ({_listed(t, found)})" if found else "")
    return True, f"CI runs the tests: {_listed(t, running)}"


def tracking_code(t: Target) -> tuple[bool, str]:
    users = t.mentions("mlflow.start_run", "mlflow.log_", "wandb.init", "neptune.init")
    return bool(users), f"experiment tracking in {_listed(t, users)}" if users else "no experiment-tracking calls"


def dvc_config(t: Target) -> tuple[bool, str]:
    configs = [t.root / ".dvc" / "config", t.root / ".dvc" / "config.local"]
    text = "\n".join(t.text(p) for p in configs if p.exists())
    if not text:
        return False, "no .dvc/config"
    remote = re.search(r"\[\s*'?remote\s+\"([^\"]+)\"'?\s*\]\s*\n\s*url\s*=\s*(\S+)", text)
    tracked = [p for p in t._listing if p.suffix == ".dvc" or p.name == "dvc.yaml"]
    if remote is None:
        return False, ".dvc/config names no remote: versions could not leave this machine"
    if not tracked:
        return False, "DVC configured, but no .dvc file or dvc.yaml tracks anything"
    return True, f"remote '{remote.group(1)}' ({remote.group(2)}); tracks {_listed(t, tracked)}"


def validation_code(t: Target) -> tuple[bool, str]:
    users = t.mentions("great_expectations", "pandera", "ExpectationSuite")
    return bool(users), f"data validation in {_listed(t, users)}" if users else "no data-validation library in use"


def feature_engineering_code(t: Target) -> tuple[bool, str]:
    flows = t.mentions("@flow", "DAG(", "@dag", "@pipeline")
    engineering = [p for p in flows if re.search(r"feature", t.text(p), re.IGNORECASE)]
    if not engineering:
        return False, "no orchestrated pipeline with a feature step"
    return True, f"feature engineering inside the pipeline: {_listed(t, engineering)}"


def hpo_code(t: Target) -> tuple[bool, str]:
    users = t.mentions("ParameterGrid", "GridSearchCV", "RandomizedSearchCV", "optuna", "hyperopt")
    return bool(users), f"hyper-parameter search in {_listed(t, users)}" if users else "no hyper-parameter search"


def registry_code(t: Target) -> tuple[bool, str]:
    users = t.mentions("create_model_version", "register_model", "set_registered_model_alias")
    return bool(users), f"model registry used in {_listed(t, users)}" if users else "no model registry in code"


def model_families(t: Target) -> tuple[bool, str]:
    families: list[str]
    if t.settings is not None:
        families = sorted(str(f) for f in t.settings.training.search.space)
    else:
        known = ("LogisticRegression", "GradientBoosting", "RandomForest", "XGB", "LGBM", "SVC")
        searching = t.mentions("ParameterGrid", "GridSearchCV", "RandomizedSearchCV", "optuna")
        families = sorted({k for k in known for p in searching if k in t.text(p)})
    if len(families) < 2:
        return False, f"the search covers {len(families)} model family"
    return True, f"the search selects among {', '.join(families)}"


def gate_config(t: Target) -> tuple[bool, str]:
    if t.settings is not None:
        gate = t.settings.gate
        rules = len(gate.minimums) + len(gate.maximums) + len(gate.slices)
        if rules and not gate.dry_run:
            return (
                True,
                f"params.yaml gate: {rules} thresholds, min_improvement {gate.min_improvement} over the champion",
            )
        return False, "params.yaml gate has no thresholds, or runs dry"
    users = t.mentions("def judge", "validation_gate", "model_validation")
    return bool(users), f"a validation gate in {_listed(t, users)}" if users else "no model validation gate"


def feature_store_config(t: Target) -> tuple[bool, str]:
    configs = [p for p in t._listing if p.name == "feature_store.yaml"]
    definitions = t.mentions("FeatureView(", "FeatureService(")
    if not configs or not definitions:
        return False, "no Feast repository (feature_store.yaml and feature views)"
    return True, f"Feast repo {_listed(t, configs)}; definitions in {_listed(t, definitions)}"


def canary_config(t: Target) -> tuple[bool, str]:
    for path in [p for p in t._listing if p.name in {"canary.yaml", "canary.yml"}]:
        config = yaml.safe_load(t.text(path)) or {}
        steps, analysis = config.get("steps"), config.get("analysis") or {}
        if steps and analysis.get("threshold"):
            rollbacks = t.mentions("def rollback")
            if rollbacks:
                return True, f"{t.rel(path)}: steps {steps}, rollback after {analysis['threshold']} failed intervals"
    return False, "no canary configuration with steps, analysis and a rollback"


def drift_code(t: Target) -> tuple[bool, str]:
    users = t.mentions("evidently", "DataDriftPreset", "alibi_detect", "nannyml")
    return bool(users), f"drift detection in {_listed(t, users)}" if users else "no drift-detection code"


def trigger_policy(t: Target) -> tuple[bool, str]:
    if t.settings is None:
        return False, "no params.yaml with a monitoring section"
    tree = yaml.safe_load((t.settings.params_file).read_text()) or {}
    monitoring = tree.get("monitoring") or {}
    trigger = {k: v for k, v in monitoring.items() if "trigger" in k or "retrain" in k or "threshold" in k}
    if not trigger:
        return False, "params.yaml has no monitoring trigger policy"
    return True, f"params.yaml monitoring: {', '.join(sorted(trigger))}"


def policy_file(t: Target) -> tuple[bool, str]:
    path = t.root / "governance" / "policy.yaml"
    if t.settings is not None and t.settings.governance.policy_file is not None:
        path = t.settings.policy_file  # configured in params.yaml, relative to the repository
    if not path.exists():
        return False, f"no policy file ({t.rel(path)})"
    policy = yaml.safe_load(t.text(path))
    if not isinstance(policy, dict) or not policy:
        return False, f"{t.rel(path)} holds no rules"
    return True, f"{t.rel(path)}: {', '.join(sorted(policy)[:6])}"


def documentation(t: Target) -> tuple[bool, str]:
    readme = next((p for p in (t.root / "README.md", t.root / "README.rst", t.root / "README") if p.exists()), None)
    if readme is None or len(t.text(readme)) < 300:
        return False, "no README describing the model"
    return True, f"{t.rel(readme)} ({len(t.text(readme))} characters)"


# --- live state -------------------------------------------------------------------------------


def tracked_runs(t: Target) -> tuple[bool, str]:
    view = t.mlflow
    if view is None:
        return False, "no MLflow store in the state folder"
    runs = [r for r in view.parent_runs if r.data.metrics]
    if not runs:
        return False, "MLflow store holds no finished run with metrics"
    latest = runs[0]
    names = sorted(latest.data.metrics)[:5]
    return True, f"{len(runs)} tracked run(s); latest {latest.info.run_id[:8]} logs {', '.join(names)}"


def run_versions(t: Target) -> tuple[bool, str]:
    view = t.mlflow
    runs = view.parent_runs if view else []
    if not runs:
        return False, "no tracked run"
    tags = runs[0].data.tags
    commit, data = tags.get("git_commit", ""), tags.get("data_version", "")
    if not re.fullmatch(r"[0-9a-f]{40}", commit) or not data:
        return False, "the latest run names no git commit or no data version"
    return True, f"latest run: code {commit[:8]}, data {data[:20]}"


def logged_model(t: Target) -> tuple[bool, str]:
    view = t.mlflow
    count = view.logged_models if view else 0
    return bool(count), f"{count} logged model(s) in MLflow" if count else "no logged model"


def documented_runs(t: Target) -> tuple[bool, str]:
    view = t.mlflow
    runs = view.parent_runs if view else []
    described = [r for r in runs if r.data.tags.get("mlflow.note.content")]
    if not described:
        return False, "no tracked run carries a description"
    return True, f'{len(described)} run(s) documented, e.g. "{described[0].data.tags["mlflow.note.content"][:70]}..."'


def dvc_in_sync(t: Target) -> tuple[bool, str]:
    from dvc.repo import Repo

    if not (t.root / ".dvc").is_dir():
        return False, "no DVC repository"
    logging.getLogger("dvc").setLevel(logging.ERROR)  # its warnings are for its CLI; the detail says it
    with Repo(str(t.root)) as repo:
        outs = [str(out) for out in repo.index.outs]
        if not outs:
            return False, "DVC tracks nothing"
        local, remote = repo.status(), repo.status(cloud=True)
    if local or remote:
        return False, f"dvc status not clean: {sorted({**local, **remote})[:3]}"
    return True, f"dvc status clean, remote in sync for {', '.join(outs[:3])}"


def validation_results(t: Target) -> tuple[bool, str]:
    state = t.state
    assert state is not None  # noqa: S101  (live probes run only with a state folder)
    results = sorted((state / "reports" / "data_docs" / "validations").rglob("*.html"))
    if not results:
        return False, "no data validation results (Data Docs) in the state folder"
    suites = sorted({p.relative_to(state / "reports" / "data_docs" / "validations").parts[0] for p in results})
    return True, f"{len(results)} validation result(s) for suite(s) {', '.join(suites)}"


def engineered_features(t: Target) -> tuple[bool, str]:
    if t.settings is None:
        return False, "no settings"
    table = t.settings.features_dir
    tracked = table.with_name(table.name + ".dvc")
    parquet = sorted(table.glob("*.parquet"))
    if not parquet or not tracked.exists():
        return False, f"no engineered, DVC-versioned feature table in {t.rel(table)}"
    return True, f"{_listed(t, parquet)} versioned by {t.rel(tracked)}"


def tuned_runs(t: Target) -> tuple[bool, str]:
    view = t.mlflow
    for run in view.parent_runs if view else []:
        candidates = view.children(run.info.run_id) if view else []
        if len(candidates) >= 2:
            return True, f"run {run.info.run_id[:8]}: {len(candidates)} tuning candidates as nested runs"
    return False, "no run with an automated search (nested candidate runs)"


def registry_versions(t: Target) -> tuple[bool, str]:
    view = t.mlflow
    if view is None or not view.versions:
        return False, "no registered model version"
    aliases = view.aliases
    if "champion" not in aliases:
        return False, f"{len(view.versions)} version(s), none aliased champion"
    shown = ", ".join(f"{a}=v{v}" for a, v in sorted(aliases.items()))
    return True, f"{len(view.versions)} version(s) of {view.settings.mlflow.registered_model}; aliases {shown}"


def gate_verdicts(t: Target) -> tuple[bool, str]:
    view = t.mlflow
    judged = [r for r in view.parent_runs if r.data.tags.get("gate_verdict")] if view else []
    versions = view.versions if view else []
    if not judged or not all(v.tags.get("gate_verdict") == "passed" for v in versions) or not versions:
        return False, "no gate verdicts on runs, or a registered version without a passed gate"
    rejected = sum(r.data.tags["gate_verdict"] == "rejected" for r in judged)
    return True, f"{len(judged)} run(s) judged by the gate ({rejected} rejected); every version passed it"


def ab_comparison(t: Target) -> tuple[bool, str]:
    view = t.mlflow
    versions = view.versions if view else []
    compared = [v for v in versions if v.tags.get("gate_compared_with")]
    if not compared:
        return False, "no version records what the gate compared it with"
    head_to_head = [
        r for r in (view.parent_runs if view else []) if any(k.startswith("champion_") for k in r.data.metrics)
    ]
    return True, (
        f"every candidate judged against the champion on the same holdout; {len(head_to_head)} head-to-head run(s)"
    )


def feast_registry(t: Target) -> tuple[bool, str]:
    if t.settings is None:
        return False, "no settings"
    registry = t.settings.feast_dir / "registry.db"
    if not registry.exists():
        return False, "no Feast registry in the state folder"
    from features.store import open_store

    service = open_store(t.settings).get_feature_service(t.settings.features.service_name)
    views = [projection.name for projection in service.feature_view_projections]
    online = (t.settings.feast_dir / "online_store.db").exists()
    if not online:
        return False, f"feature service {service.name} registered, but no online store materialized"
    return True, f"Feast registry serves {service.name} ({', '.join(views)}); online store materialized"


LINEAGE_TAGS = ("data_version", "features_version", "feature_service", "git_commit", "params_digest")


def model_selection(t: Target) -> tuple[bool, str]:
    """The latest automated search: did it choose among families, and does its run carry full lineage?

    Judged on the latest search, not on the champion: a search whose best candidate the
    gate refused (no better than the champion) still shows the practice at work.
    """
    view = t.mlflow
    searches = [(r, view.children(r.info.run_id)) for r in view.parent_runs] if view else []
    searches = [(run, children) for run, children in searches if len(children) >= 2]
    if not searches:
        return False, "no automated search in MLflow"
    run, candidates = searches[0]
    families = sorted({str(c.data.tags.get("model_family")) for c in candidates})
    lineage = [k for k in LINEAGE_TAGS if run.data.tags.get(k)]
    where = f"latest search (run {run.info.run_id[:8]})"
    if len(families) < 2 or len(lineage) < len(LINEAGE_TAGS):
        return False, f"{where}: {len(families)} model family searched; lineage tags {', '.join(lineage)}"
    return True, f"{where} chose among {', '.join(families)}; lineage {', '.join(lineage)}"


def drift_reports(t: Target) -> tuple[bool, str]:
    reports = _glob_state(t, DRIFT_REPORT_GLOBS)
    return bool(
        reports
    ), f"drift report(s): {_listed(t, reports)}" if reports else "no drift report in the state folder"


def canary_history(t: Target) -> tuple[bool, str]:
    state = t.state
    assert state is not None  # noqa: S101
    record = state / "serving" / "canary_state.json"
    note = json.loads(record.read_text()).get("note", "") if record.exists() else ""
    if "promoted" in note or "rolled back" in note:
        return True, f"canary decision recorded: {note}"
    aliases = t.mlflow.aliases if t.mlflow else {}
    if "previous" in aliases:
        return True, f"a canary promoted v{aliases['champion']} (previous v{aliases['previous']} kept for rollback)"
    return False, "no canary has run (make canary, make canary-demo)"


def _triggered_runs(t: Target) -> list[Any]:
    view = t.mlflow
    runs = view.parent_runs if view else []
    return [r for r in runs if r.data.tags.get(TRIGGER_TAG, MANUAL_TRIGGER) != MANUAL_TRIGGER]


def retraining_triggered(t: Target) -> tuple[bool, str]:
    triggered = _triggered_runs(t)
    if not triggered:
        return False, "no training run started by the monitor (every run's trigger is manual)"
    tags = triggered[0].data.tags
    reason = tags.get("trigger_reason", tags[TRIGGER_TAG])
    return (
        True,
        f"{len(triggered)} retraining run(s) started by the monitor, latest ({tags[TRIGGER_TAG]}): {reason[:90]}",
    )


def monitor_judging(t: Target) -> tuple[bool, str]:
    state = t.state
    assert state is not None  # noqa: S101
    path = state / MONITOR_STATE
    judged = int(json.loads(path.read_text()).get("windows_judged", 0)) if path.exists() else 0
    if not judged:
        return False, "the monitor has judged no window of served predictions"
    return True, f"the monitor has judged {judged} window(s) of served predictions ({MONITOR_STATE})"


def model_cards(t: Target) -> tuple[bool, str]:
    cards = _glob_state(t, MODEL_CARD_GLOBS)
    return bool(cards), f"model card(s): {_listed(t, cards)}" if cards else "no model card in the state folder"


def compliance_reports(t: Target) -> tuple[bool, str]:
    reports = _glob_state(t, COMPLIANCE_GLOBS)
    if not reports:
        return False, "no automated compliance report in the state folder"
    return True, f"{len(reports)} compliance report(s): {_listed(t, reports, 2)}"


def _audit_entries(t: Target) -> tuple[Path | None, list[dict[str, Any]]]:
    for path in _glob_state(t, AUDIT_LOG_GLOBS):
        entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if entries:
            return path, entries
    return None, []


def audit_log(t: Target) -> tuple[bool, str]:
    """An audit log with entries, whose hash chain (where it has one) links line to line."""
    path, entries = _audit_entries(t)
    if path is None:
        return False, "no audit log with entries"
    for number, (before, entry) in enumerate(itertools.pairwise(entries), start=2):
        if "previous_hash" in entry and entry["previous_hash"] != before.get("hash"):
            return False, f"{t.rel(path)}: line {number} does not follow line {number - 1} (edited or deleted)"
    events = sorted({str(e.get("event", "?")) for e in entries})
    return True, f"{t.rel(path)}: {len(entries)} audited event(s), chain intact ({', '.join(events)})"


def _severity(column: dict[str, Any]) -> float:
    """How far past its threshold a drifted column is (above 1: drifted), for distances and p-values alike."""
    score, threshold = float(column["score"]), float(column["threshold"])
    if "p_value" in str(column.get("method")):  # small p-values mean drift
        return math.log(max(score, 1e-300)) / math.log(threshold)
    return score / threshold


def drift_rankings(t: Target) -> list[tuple[str, list[tuple[str, float]]]]:
    """Where drift was ranked, newest first: (source, [(feature, severity)]).

    Level 2 alert files hold each column's score and threshold; a monitor-triggered run
    names its report (its JSON holds the scores) and its drifted features in order.
    """
    found: list[tuple[float, str, list[tuple[str, float]]]] = []
    for path in _glob_state(t, DRIFT_ALERT_GLOBS):
        content = json.loads(path.read_text())
        scored = [(str(c["column"]), _severity(c)) for c in content.get("columns", []) if c.get("drifted")]
        if scored:
            found.append((path.stat().st_mtime, t.rel(path), sorted(scored, key=lambda item: item[1], reverse=True)))
    for run in _triggered_runs(t):
        ranked = _report_ranking(Path(run.data.tags.get("trigger_report", "")).with_suffix(".json"))
        if not ranked:
            names = [n.strip() for n in run.data.tags.get(TRIGGER_FEATURES_TAG, "").split(",") if n.strip()]
            ranked = [(n, float(len(names) - i)) for i, n in enumerate(names)]
        if ranked:
            found.append((run.info.start_time / 1000, f"retraining run {run.info.run_id[:8]}", ranked))
    return [(source, ranked) for _, source, ranked in sorted(found, key=lambda item: item[0], reverse=True)]


def _report_ranking(path: Path) -> list[tuple[str, float]]:
    """Drifted columns and severities of a saved monitoring report (monitoring/reports.py reads it)."""
    if not path.is_file():
        return []
    from monitoring.reports import read_report

    report = read_report(json.loads(path.read_text()), path.stem, 0, 1.0, path.with_suffix(".html"), path)
    return [(c.column, c.severity) for c in report.drifted_columns]


def ranked_drift(t: Target) -> tuple[bool, str]:
    rankings = drift_rankings(t)
    if not rankings or t.settings is None:
        return False, "no drift ranking to trace back (no drifted alert or triggered retraining)"
    from governance.maturity.preview import root_cause_hints

    where, drifted = rankings[0]
    hints = root_cause_hints(t.settings, drifted)
    return True, f"root-cause hints from {where}: " + "; ".join(str(h) for h in hints)


def explanations_and_fairness(t: Target) -> tuple[bool, str]:
    explained, fair = _glob_state(t, EXPLANATION_GLOBS), _glob_state(t, FAIRNESS_GLOBS)
    if not explained or not fair:
        return False, "no explanation and fairness reports in the state folder"
    return True, f"explanations {_listed(t, explained, 1)}; fairness {_listed(t, fair, 1)}"


def self_healing(t: Target) -> tuple[bool, str]:
    """Seen happening: a rollback and a retraining, neither started by a person."""
    _, entries = _audit_entries(t)
    rollbacks = [e for e in entries if e.get("event") == "rollback"]
    retrains = [e for e in entries if e.get("event") == "retrain_trigger"]
    if rollbacks and retrains:
        return True, f"audit log: {len(rollbacks)} automated rollback(s), {len(retrains)} triggered retraining(s)"
    healed, detail = canary_history(t)
    retrained, why = retraining_triggered(t)
    if healed and "rolled back" in detail and retrained:
        return True, f"{detail}; {why}"
    return False, "needs both an automated rollback and a triggered retraining, seen in the state"


def not_in_template(what: str) -> Callable[[Target], tuple[bool, str]]:
    def check(_: Target) -> tuple[bool, str]:
        return False, f"{what}: not part of this template"

    return check


P = Probe
PROBES: dict[str, Probe] = {
    p.name: p
    for p in (
        P("git", "file", "code under version control", "git init; commit the code", git_history),
        P("tests", "file", "automated tests", "write tests (tests/); make test", automated_tests),
        P("ci", "file", "CI that runs the tests", "a CI file that runs make test (.ci/run)", ci_config),
        P(
            "tracking_code",
            "file",
            "experiment tracking in code",
            "track runs in MLflow (pipelines/tracking.py)",
            tracking_code,
        ),
        P(
            "dvc_config",
            "file",
            "DVC with a remote, tracking data",
            "make pipeline LEVEL=2 (DVC with a remote)",
            dvc_config,
        ),
        P(
            "validation_code",
            "file",
            "a data validation library",
            "validate batches (features/validation.py)",
            validation_code,
        ),
        P(
            "feature_pipeline",
            "file",
            "feature engineering inside a pipeline",
            "engineer features in the flow",
            feature_engineering_code,
        ),
        P("hpo_code", "file", "hyper-parameter search in code", "search a space (pipelines/tuning.py)", hpo_code),
        P(
            "model_families",
            "file",
            "a search across model families",
            "training.search.space in params.yaml",
            model_families,
        ),
        P(
            "registry_code",
            "file",
            "a model registry in code",
            "register models (pipelines/registry.py)",
            registry_code,
        ),
        P("gate_config", "file", "validation gate thresholds", "set gate thresholds in params.yaml", gate_config),
        P(
            "feature_store_config",
            "file",
            "a Feast repository",
            "define features in Feast (features/store.py)",
            feature_store_config,
        ),
        P("canary_config", "file", "canary steps and rollback", "configure serving/canary.yaml", canary_config),
        P("drift_code", "file", "drift detection code", "Evidently drift reports (monitoring/)", drift_code),
        P(
            "trigger_policy",
            "file",
            "a retraining trigger policy",
            "params.yaml monitoring: trigger policy",
            trigger_policy,
        ),
        P("policy", "file", "policy as code", "governance/policy.yaml", policy_file),
        P("docs", "file", "a README describing the model", "write the README", documentation),
        P("tracked_runs", "live", "runs with metrics in MLflow", "make pipeline LEVEL=1", tracked_runs),
        P("run_versions", "live", "runs name code and data versions", "make pipeline LEVEL=1", run_versions),
        P("logged_model", "live", "models logged as versioned artifacts", "make pipeline LEVEL=1", logged_model),
        P("documented_runs", "live", "runs carry a description", "make pipeline LEVEL=1", documented_runs),
        P("dvc_in_sync", "live", "dvc status clean, remote in sync", "make pipeline LEVEL=2", dvc_in_sync),
        P("validation_results", "live", "validation results (Data Docs)", "make pipeline LEVEL=2", validation_results),
        P(
            "engineered_features",
            "live",
            "a versioned engineered feature table",
            "make pipeline LEVEL=2",
            engineered_features,
        ),
        P("tuned_runs", "live", "an automated search in MLflow", "make pipeline LEVEL=2", tuned_runs),
        P("registry", "live", "registry versions with a champion", "make pipeline LEVEL=2", registry_versions),
        P("gate_verdicts", "live", "gate verdicts on every version", "make pipeline LEVEL=2", gate_verdicts),
        P("ab_comparison", "live", "candidates compared with the champion", "make pipeline LEVEL=2", ab_comparison),
        P("feast_registry", "live", "the Feast registry and online store", "make pipeline LEVEL=3", feast_registry),
        P(
            "model_selection",
            "live",
            "a champion selected across families, with lineage",
            "make pipeline LEVEL=3",
            model_selection,
        ),
        P("drift_reports", "live", "drift reports", "make pipeline LEVEL=2 (drift alert), make monitor", drift_reports),
        P(
            "monitor_judging",
            "live",
            "a monitor judging served traffic",
            "the Level 3 loop (make pipeline; pipelines/monitor.py)",
            monitor_judging,
        ),
        P("canary_history", "live", "a canary decision", "make canary-demo (or the Level 3 loop)", canary_history),
        P(
            "retraining_triggered",
            "live",
            "drift-triggered retraining",
            "the Level 3 loop (monitoring/)",
            retraining_triggered,
        ),
        P("model_cards", "live", "model cards", "governance/: model cards for registered versions", model_cards),
        P(
            "compliance",
            "live",
            "automated compliance checks",
            "governance/: policy checks on every version",
            compliance_reports,
        ),
        P("audit_log", "live", "an audit log", "governance/: audit trail (make audit)", audit_log),
        # Level 4: a preview of what the components allow today.
        P(
            "ranked_drift",
            "live",
            "root-cause hints: ranked drifted features",
            "monitoring/ drift ranking",
            ranked_drift,
        ),
        P(
            "self_healing",
            "live",
            "rollback and retraining without a human",
            "the Level 3 loop under drift",
            self_healing,
        ),
        P(
            "explained_fair",
            "live",
            "explanations and bias detection",
            "governance/ explanations and fairness",
            explanations_and_fairness,
        ),
        P(
            "active_learning",
            "file",
            "automated labeling, active learning",
            "out of scope",
            not_in_template("automated data labeling"),
        ),
        P(
            "architecture_search",
            "file",
            "automated architecture search",
            "out of scope",
            not_in_template("automated architecture search"),
        ),
    )
}
