"""Model cards, written from what the registry, the run and the audit trail already know.

One Markdown text is the card; the HTML page is that text rendered, with the importance
plot embedded as base64 so the page stands alone. Both are logged to the version's
training run (``governance/model_card.md``, ``.html``) and written under
``.state/governance/versions/v<n>/``. The people-written parts (intended use, out of
scope, limitations) are per dataset: ``model_card`` in params.yaml. The training data
section describes the data contract (``schema``): what the model was trained to see.
"""

from __future__ import annotations

import html
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.settings import Settings
from features.engineering import FeatureColumns
from governance import audit
from governance.evidence import VersionRecord, data_validation, read_json, read_run_json, version_dir
from governance.policy import Policy

METRICS = ("roc_auc", "pr_auc", "f1", "log_loss", "brier", "calibration_error", "default_rate")
LINEAGE = (
    "training_run",
    "data_version",
    "features_version",
    "feature_service",
    "feature_views",
    "git_commit",
    "params_digest",
    "model_family",
    "data_validation",
)
HISTORY_EVENTS = ("registration", "policy_verdict", "approval", "rejection", "promotion", "rollback")


@dataclass(frozen=True)
class Card:
    version: str
    markdown: str
    html: str


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _text(value: Any) -> str:
    """Free text as Markdown that renders as the same text: any HTML in it is escaped, never interpreted.

    Reasons, approver names, group names and the policy's prose are typed by people (or
    arrive with the data); the HTML card is rendered from this Markdown, and Markdown
    passes raw HTML through, so a ``<script>`` in a reason would run in the reader's browser.
    """
    return html.escape(str(value), quote=False)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return _text(value).replace("|", "\\|").replace("\n", " ")


def _contract(settings: Settings) -> list[str]:
    """The data contract as a table: every column, its kind and what it may hold."""
    schema = settings.schema_
    rows: list[list[Any]] = [
        [schema.entity, "entity", "history accumulates per entity"],
        [schema.timestamp, "event time", "weeks are cut by it; the holdout is the latest"],
        [schema.label, "label", f"1 scores {schema.decisions.positive!r}, 0 {schema.decisions.negative!r}"],
    ]
    if schema.record_id:
        rows.append([schema.record_id, "record id", "unique per event"])
    for name, spec in schema.numeric.items():
        nulls = f", up to {spec.max_null_share:.0%} missing" if spec.max_null_share else ""
        rows.append([name, "numeric", f"{spec.min:g} to {spec.max:g}{nulls}"])
    for name, values in schema.categorical.items():
        rows.append([name, "categorical", ", ".join(values)])
    for name in schema.sensitive:
        rows.append([name, "sensitive", "kept out of the features; fairness is judged across its groups"])
    return [
        f"The data contract (`schema` in {settings.source('').strip()}):",
        "",
        *_table(["column", "kind", "holds"], rows),
    ]


def _training_data(record: VersionRecord, validated: dict[str, Any] | None, settings: Settings) -> list[str]:
    lineage = record.lineage
    rows: list[list[Any]] = [
        ["data version (DVC, data/raw)", lineage.get("data_version", "not recorded")],
        ["feature table version (DVC, data/features)", lineage.get("features_version", "not recorded")],
        ["source and scenario", f"{lineage.get('data_source', '?')}, {lineage.get('data_scenario', '?')}"],
        ["holdout starts", record.params.get("holdout_start", "?")],
        ["training rows", int(record.metrics.get("train_rows", 0))],
        ["holdout rows", int(record.metrics.get("holdout_rows", 0))],
        ["data validation", data_validation(validated, lineage)],
    ]
    return [*_table(["what", "value"], rows), "", *_contract(settings)]


def _features(record: VersionRecord, settings: Settings) -> list[str]:
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    columns = FeatureColumns.from_signature(record.source)
    return [
        f"{len(columns.all)} inputs, served by feature service `{record.lineage.get('feature_service', '?')}`.",
        "",
        f"- numeric: {', '.join(columns.numeric)}",
        f"- categorical: {', '.join(columns.categorical) or 'none'}",
        f"- kept out (sensitive, used for fairness only): {', '.join(settings.schema_.sensitive) or 'none'}",
    ]


def _metrics(record: VersionRecord, slices: dict[str, dict[str, dict[str, float]]] | None) -> list[str]:
    lines = ["On the time-based holdout (the latest weeks).", ""]
    lines += _table(["metric", "value"], [[m, record.metrics[m]] for m in METRICS if m in record.metrics])
    if slices:
        lines += ["", "Per slice:", ""]
        rows = [
            [name, group, int(values["rows"]), values.get("roc_auc", float("nan")), values["default_rate"]]
            for name, groups in slices.items()
            for group, values in groups.items()
        ]
        lines += _table(["slice", "group", "rows", "roc_auc", "default rate"], rows)
    return lines


def _fairness(fairness: dict[str, Any] | None, policy: Policy) -> list[str]:
    if fairness is None:
        return ["No fairness assessment was logged."]
    limits = policy.stages["champion"].fairness
    lines = [
        f"A decline is a predicted default at or above {fairness['threshold']}; {fairness['rows']} holdout rows.",
        "",
    ]
    shown = {None: "not judged"}
    lines += _table(
        ["gap (largest over sensitive attributes)", "value", "champion policy limit"],
        [
            [
                "demographic parity difference",
                shown.get(fairness["demographic_parity_difference"], fairness["demographic_parity_difference"]),
                limits.demographic_parity_difference,
            ],
            [
                "equalized odds difference",
                shown.get(fairness["equalized_odds_difference"], fairness["equalized_odds_difference"]),
                limits.equalized_odds_difference,
            ],
        ],
    )
    if "min_group_rows" in fairness:
        lines += ["", f"Groups with fewer than {fairness['min_group_rows']} rows are reported, not judged."]
    for attribute, result in fairness["attributes"].items():
        lines += ["", f"By `{attribute}` ({result.get('grouped', 'by value')}):", ""]
        rows = [
            [
                g,
                v["rows"],
                "yes" if v.get("judged", True) else "no",
                v["decline_rate"],
                v["true_positive_rate"],
                v["false_positive_rate"],
                v["default_rate"],
            ]
            for g, v in result["groups"].items()
        ]
        lines += _table(["group", "rows", "judged", "positive rate", "TPR", "FPR", "label rate"], rows)
    return lines


def _explanation(importance: list[dict[str, Any]] | None) -> list[str]:
    if importance is None:
        return ["No explanation was logged."]
    lines = [
        "Permutation importance on a holdout sample: how much ROC AUC drops when a column is shuffled.",
        "Per-request explanations: `POST /explain` on the service.",
        "",
        "![feature importance](importance.png)",
        "",
    ]
    return lines + _table(
        ["feature", "importance", "std"], [[i["feature"], i["mean"], i["std"]] for i in importance[:10]]
    )


def _verdicts(gate: dict[str, Any] | None, reports: dict[str, dict[str, Any] | None]) -> list[str]:
    lines = []
    if gate is None:
        lines.append("- validation gate: no verdict logged")
    else:
        failed = [r["rule"] for r in gate["rules"] if not r["passed"]]
        outcome = "passed" if gate["passed"] else f"rejected by {', '.join(failed)}"
        lines.append(f"- validation gate: {outcome} ({len(gate['rules'])} rules)")
    for stage, report in reports.items():
        if report is None:
            lines.append(f"- {stage} policy: not evaluated yet")
            continue
        outcome = "passed" if report["passed"] else f"refused by {', '.join(report['failed'])}"
        lines.append(
            f"- {stage} policy {report['policy_version']} ({report['approval_mode']} approval), "
            f"{report['evaluated_at']}: {outcome}"
        )
    return lines


def _history(settings: Settings, version: str) -> list[str]:
    entries = [e for e in audit.history(settings) if e.version == version and e.event in HISTORY_EVENTS]
    if not entries:
        return ["Nothing recorded yet."]
    rows = [[e.time, e.event, _by(e.actor, e.details), e.reason] for e in entries]
    trusted = audit.trusted_history(settings)
    warning = (
        [] if trusted.ok else ["", f"**The audit trail does not verify** ({trusted.problems[0]}): see `make audit`."]
    )
    return _table(["when", "event", "by", "why"], rows) + warning


def _by(actor: str, details: dict[str, Any]) -> str:
    """Who decided, as they named themselves, and who the machine says ran it (approvals record both)."""
    vouched = [
        f"{key.replace('_', ' ')}: {value}" for key, value in details.items() if key.startswith(("os_user", "ci_actor"))
    ]
    return f"{actor} ({'; '.join(vouched)})" if vouched else actor


def render_markdown(settings: Settings, record: VersionRecord, policy: Policy) -> str:
    """The card as Markdown: one ``##`` section per policy-required heading."""
    facts = settings.model_card
    missing = f"(not written yet: model_card in {settings.source('').strip()})"
    importance = read_json(settings, record, "importance.json")
    reports = {stage: read_json(settings, record, f"compliance_{stage}.json") for stage in ("challenger", "champion")}
    lineage = record.lineage
    sections: dict[str, list[str]] = {
        "Intended use": [_text(facts.intended_use) if facts.intended_use else missing],
        "Out of scope": [_text(facts.out_of_scope) if facts.out_of_scope else missing],
        "Training data": _training_data(record, read_json(settings, record, "data_validation.json"), settings),
        "Features": _features(record, settings),
        "Metrics": _metrics(record, read_json(settings, record, "slices.json")),
        "Fairness": _fairness(read_json(settings, record, "fairness.json"), policy),
        "Explanation": _explanation(importance),
        "Lineage": [
            *_table(["key", "value"], [[key, lineage.get(key, "not recorded")] for key in LINEAGE]),
            "",
            f"Model: `{record.source}`. Reproduce: `make reproduce VERSION={record.version}`.",
        ],
        "Verdicts": _verdicts(read_run_json(settings, record, "gate_verdict.json"), reports),
        "Approvals": _history(settings, record.version),
        "Limitations": [_text(facts.limitations) if facts.limitations else missing],
    }
    head = [
        f"# Model card: {settings.mlflow.registered_model}, version {record.version}",
        "",
        f"{lineage.get('model_family', 'model')}; governed by policy {policy.version} (owner: {policy.owner}).",
    ]
    body = [line for title, lines in sections.items() for line in ("", f"## {title}", "", *lines)]
    return "\n".join(head + body) + "\n"


def render_html(markdown_text: str, title: str, importance_png_uri: str | None) -> str:
    """A self-contained page: the card rendered, the plot inlined."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables"])
    if importance_png_uri:
        body = body.replace('src="importance.png"', f'src="{importance_png_uri}"')
    style = (
        "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
        "code{background:#f3f3f3;padding:0 .2em}img{max-width:100%}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{body}</body></html>\n"
    )


def png_uri(settings: Settings, record: VersionRecord) -> str | None:
    """The importance plot as a data URI: the local copy, else the run's artifact."""
    from core.registry import client
    from governance.explain import png_data_uri

    local = version_dir(settings, record.version) / "importance.png"
    if local.exists():
        return png_data_uri(local.read_bytes())
    if "importance.png" not in record.artifacts:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = client(settings).download_artifacts(record.run_id, "governance/importance.png", folder)
        return png_data_uri(Path(path).read_bytes())


def build(settings: Settings, record: VersionRecord, policy: Policy) -> Card:
    text = render_markdown(settings, record, policy)
    title = f"Model card: {settings.mlflow.registered_model} v{record.version}"
    return Card(record.version, text, render_html(text, title, png_uri(settings, record)))
