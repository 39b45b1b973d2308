"""What the registry, the version's training run and the audit trail know about a version.

Governance artifacts live with the training run in MLflow, under ``governance/``
(fairness, importance, slices, model card, compliance reports), and a copy of each under
the state folder (``.state/governance/versions/v<n>/``) for reading without MLflow.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlflow.exceptions import MlflowException

from core.registry import client
from core.settings import Settings
from features.engineering import FeatureColumns
from governance import audit
from governance.fairness import not_judged
from governance.policy import Decision, Evidence

ARTIFACTS = "governance"  # the folder of a run's artifacts that governance writes


def version_dir(settings: Settings, version: str) -> Path:
    return settings.state / "governance" / "versions" / f"v{version}"


@dataclass(frozen=True)
class VersionRecord:
    """A registry version with its run: the raw material of evidence and model cards."""

    version: str
    run_id: str
    source: str
    tags: dict[str, str]
    run_tags: dict[str, str]
    metrics: dict[str, float]
    params: dict[str, str]
    artifacts: frozenset[str]

    @property
    def lineage(self) -> dict[str, str]:
        """The run's tags under the version's (the version's win), plus the run itself."""
        return {**self.run_tags, **self.tags, "training_run": self.tags.get("training_run") or self.run_id}


def version_record(settings: Settings, version: str) -> VersionRecord:
    registry = client(settings)
    try:
        found = registry.get_model_version(settings.mlflow.registered_model, str(version))
    except MlflowException:
        raise ValueError(f"{settings.mlflow.registered_model} has no version {version!r}") from None
    run = registry.get_run(found.run_id)
    listed = {Path(a.path).name for a in registry.list_artifacts(found.run_id, ARTIFACTS)}
    return VersionRecord(
        str(found.version),
        found.run_id,
        found.source,
        dict(found.tags),
        {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        dict(run.data.metrics),
        dict(run.data.params),
        frozenset(listed),
    )


def read_artifact(settings: Settings, record: VersionRecord, name: str) -> str | None:
    """The text of one governance artifact of the version's run, or None if it was never logged."""
    if name not in record.artifacts:
        return None
    with tempfile.TemporaryDirectory() as folder:
        local = client(settings).download_artifacts(record.run_id, f"{ARTIFACTS}/{name}", folder)
        return Path(local).read_text()


def read_run_json(settings: Settings, record: VersionRecord, path: str) -> Any:
    """A JSON artifact anywhere in the version's run (the gate's verdict sits at its root), or None."""
    registry = client(settings)
    folder, _, _ = path.rpartition("/")
    if path not in {a.path for a in registry.list_artifacts(record.run_id, folder or None)}:
        return None
    with tempfile.TemporaryDirectory() as local:
        return json.loads(Path(registry.download_artifacts(record.run_id, path, local)).read_text())


def read_json(settings: Settings, record: VersionRecord, name: str) -> Any:
    text = read_artifact(settings, record, name)
    return None if text is None else json.loads(text)


def card_sections(markdown: str) -> tuple[str, ...]:
    return tuple(line[3:].strip() for line in markdown.splitlines() if line.startswith("## "))


def latest_decision(settings: Settings, version: str) -> tuple[Decision | None, tuple[str, ...]]:
    """The last approval or rejection for ``version`` in a trail that verifies, and the trail's problems if not.

    Decisions count only when the chain and its head verify (``audit.trusted_history``):
    otherwise none is returned, and the problems say why.
    """
    trusted = audit.trusted_history(settings)
    for entry in reversed(trusted.entries):
        if entry.version == str(version) and entry.event in ("approval", "rejection"):
            kind: Literal["approval", "rejection"] = "approval" if entry.event == "approval" else "rejection"
            return Decision(kind, entry.actor, entry.reason, entry.time), ()
    return None, tuple(trusted.problems)


def data_validation(validated: dict[str, Any] | None, lineage: dict[str, str]) -> str:
    """What the run's validation evidence says of the data version the version was trained on.

    "passed ..." only if the evidence is for that exact data version (the version's
    ``data_version`` tag) and every batch in it has a passing, matching record; anything
    else names what is missing or failed.
    """
    version = lineage.get("data_version")
    if validated is None:
        return "no validation results recorded with the training run"
    if validated.get("data_version") != version:
        return f"the results recorded are for data version {validated.get('data_version')}, not {version}"
    batches = validated.get("batches") or []
    failed = [f"{b.get('batch')} ({b.get('why')})" for b in batches if not b.get("passed")]
    if failed or not batches:
        return "failed: " + ("; ".join(failed[:5]) or "no batches")
    return f"passed ({len(batches)} batches of data version {version}, each with a passing Great Expectations result)"


def protected_columns(settings: Settings) -> tuple[str, ...]:
    """Columns no model may read: the sensitive attributes and the identifiers."""
    schema = settings.schema_
    keys = (schema.entity, schema.timestamp, schema.label, schema.record_id)
    return tuple(dict.fromkeys([*schema.sensitive, *(k for k in keys if k)]))


def card_facts_missing(settings: Settings) -> tuple[str, ...]:
    """The keys of params.yaml's ``model_card`` that are empty or still a draft's TODO."""
    facts = settings.model_card.model_dump()
    return tuple(k for k, text in facts.items() if not text.strip() or text.strip().upper().startswith("TODO"))


def collect(settings: Settings, version: str) -> Evidence:
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)  # the signature is read through models:/ URIs
    record = version_record(settings, version)
    fairness = read_json(settings, record, "fairness.json")
    decision, trail_problems = latest_decision(settings, record.version)
    card = read_artifact(settings, record, "model_card.md")
    return Evidence(
        version=record.version,
        metrics=record.metrics,
        fairness=None
        if fairness is None
        else {
            k: None if fairness.get(k) is None else float(fairness[k])
            for k in ("demographic_parity_difference", "equalized_odds_difference")
        },
        fairness_note="" if fairness is None or "min_group_rows" not in fairness else not_judged(fairness),
        card_facts_missing=card_facts_missing(settings),
        data_validation=data_validation(read_json(settings, record, "data_validation.json"), record.lineage),
        lineage=record.lineage,
        features=tuple(FeatureColumns.from_signature(record.source).all),
        protected=protected_columns(settings),
        card_sections=None if card is None else card_sections(card),
        explanation={"importance.json", "importance.png"} <= record.artifacts,
        decision=decision,
        trail_problems=trail_problems,
    )
