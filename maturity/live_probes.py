"""Live probes: the project's state shows the practice happened (runs, aliases, reports, the audit log)."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maturity.evidence import (
    COMPLIANCE_GLOBS,
    DEMO_TAG,
    DRIFT_ALERT_GLOBS,
    DRIFT_REPORT_GLOBS,
    EXPLANATION_GLOBS,
    FAIRNESS_GLOBS,
    MANUAL_TRIGGER,
    MODEL_CARD_GLOBS,
    MONITOR_STATE,
    TRIGGER_FEATURES_TAG,
    TRIGGER_TAG,
    glob_state,
    listed,
)
from maturity.target import Target


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
    return True, f"{listed(t, parquet)} versioned by {t.rel(tracked)}"


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
    demos = [v for v in versions if v.tags.get(DEMO_TAG)]
    real = [v for v in versions if not v.tags.get(DEMO_TAG)]
    if not judged or not real:
        return False, "no gate verdicts on runs, or no registered version"
    ungated = [f"v{v.version}" for v in real if v.tags.get("gate_verdict") != "passed"]
    if ungated:
        return False, (
            f"{', '.join(ungated)} registered without a passed gate: a model nobody validated could take a role, "
            f"so the gate does not guard the registry (tag a demo's version `{DEMO_TAG}` to leave it out)"
        )
    rejected = sum(r.data.tags["gate_verdict"] == "rejected" for r in judged)
    left_out = f"; left out: {', '.join(f'v{v.version}' for v in demos)} ({demos[0].tags[DEMO_TAG]})" if demos else ""
    return True, f"{len(judged)} run(s) judged by the gate ({rejected} rejected); every version passed it{left_out}"


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
    reports = glob_state(t, DRIFT_REPORT_GLOBS)
    return bool(reports), f"drift report(s): {listed(t, reports)}" if reports else "no drift report in the state folder"


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


def serving_skew(t: Target) -> tuple[bool, str]:
    """The monitor recomputed served history features (monitoring/skew.py); none of the latest differ past the bar."""
    state = t.state
    assert state is not None  # noqa: S101
    from monitoring.skew import SKEW_LOG, read_log

    windows = [w for w in read_log(state / SKEW_LOG) if w.get("checked")]
    if not windows:
        return False, f"no served feature recomputed by the monitor ({SKEW_LOG})"
    checked = sum(int(w["checked"]) for w in windows)  # type: ignore[call-overload]
    differing = sum(int(w["differing"]) for w in windows)  # type: ignore[call-overload]
    alerts = [str(w["window"]) for w in windows if w.get("alert")]
    latest = windows[-1]
    text = (
        f"{differing} of {checked} served rows differ from the point-in-time join over {len(windows)} window(s); "
        f"latest {latest['window']}: {latest['differing']} of {latest['checked']}"
    )
    if latest.get("alert"):
        return False, f"serving skew alert: {text}"
    return True, text + (f" (earlier alerts: {', '.join(alerts[:3])})" if alerts else "")


def model_cards(t: Target) -> tuple[bool, str]:
    cards = glob_state(t, MODEL_CARD_GLOBS)
    return bool(cards), f"model card(s): {listed(t, cards)}" if cards else "no model card in the state folder"


def compliance_reports(t: Target) -> tuple[bool, str]:
    reports = glob_state(t, COMPLIANCE_GLOBS)
    if not reports:
        return False, "no automated compliance report in the state folder"
    return True, f"{len(reports)} compliance report(s): {listed(t, reports, 2)}"


def audit_log(t: Target) -> tuple[bool, str, str | None]:
    """The audit trail, checked by its own verification: every line's hash and link, and the head."""
    from governance import audit

    if t.settings is None:
        return False, "no settings", None
    check = audit.verify(t.settings)
    where = t.rel(audit.audit_path(t.settings))
    if not check.entries:
        return False, "no audit trail with entries", None
    if not check.ok:
        shown = "; ".join(check.problems[:3]) + (
            f" (+{len(check.problems) - 3} more)" if len(check.problems) > 3 else ""
        )
        return False, f"{where} fails its verification: {shown}", where
    events = sorted({entry.event for entry in check.entries})
    return True, f"{where}: {len(check.entries)} event(s), verified (hashes, links, head): {', '.join(events)}", where


def approvals_recorded(t: Target) -> tuple[bool, str]:
    """People's approvals and rejections in the audit trail (manual approval mode)."""
    from governance import audit

    decided = [e for e in audit.history(t.settings) if e.event in {"approval", "rejection"}] if t.settings else []
    if not decided:
        return False, "no approval or rejection by a person in the audit trail"
    return True, f"{len(decided)} decision(s) by people, latest: {decided[-1].event} of v{decided[-1].version}"


def drift_alerts(t: Target) -> tuple[bool, str]:
    alerts = glob_state(t, DRIFT_ALERT_GLOBS)
    return bool(alerts), f"drift alert(s): {listed(t, alerts)}" if alerts else "no drift alert raised"


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
    for path in glob_state(t, DRIFT_ALERT_GLOBS):
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
    from maturity.preview import root_cause_hints

    where, drifted = rankings[0]
    hints = root_cause_hints(t.settings, drifted)
    return True, f"root-cause hints from {where}: " + "; ".join(str(h) for h in hints)


def explanations_and_fairness(t: Target) -> tuple[bool, str]:
    explained, fair = glob_state(t, EXPLANATION_GLOBS), glob_state(t, FAIRNESS_GLOBS)
    if not explained or not fair:
        return False, "no explanation and fairness reports in the state folder"
    return True, f"explanations {listed(t, explained, 1)}; fairness {listed(t, fair, 1)}"


def self_healing(t: Target) -> tuple[bool, str]:
    """Seen happening: a rollback and a retraining, neither started by a person."""
    from governance import audit

    entries = audit.history(t.settings) if t.settings is not None else []
    rollbacks = [e for e in entries if e.event == "rollback"]
    retrains = [e for e in entries if e.event == "retrain_trigger"]
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
