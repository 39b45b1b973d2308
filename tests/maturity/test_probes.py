"""Single probes on hand-made state: what counts as evidence, and what does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.settings import Settings
from maturity.probes import PROBES
from maturity.target import Target

pytestmark = pytest.mark.unit


def chained(events: list[str]) -> list[dict[str, object]]:
    entries, previous = [], "0" * 64
    for number, event in enumerate(events, start=1):
        entry = {"sequence": number, "event": event, "previous_hash": previous, "hash": f"{number:064d}"}
        entries.append(entry)
        previous = str(entry["hash"])
    return entries


def test_an_audit_log_counts_only_with_its_chain_intact(settings: Settings, workspace: Path) -> None:
    log = settings.state / "governance" / "audit.jsonl"
    log.parent.mkdir(parents=True)
    (settings.state / "level0").mkdir()  # the project has run: live evidence is required
    entries = chained(["registration", "promotion", "rollback", "retrain_trigger"])
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    target = Target.open(workspace)

    found = PROBES["audit_log"].run(target)
    assert found.status == "pass" and "4 audited event(s), chain intact" in found.detail
    assert PROBES["self_healing"].run(target).status == "pass"

    del entries[1]  # a line removed
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    broken = PROBES["audit_log"].run(Target.open(workspace))
    assert broken.status == "fail" and "line 2 does not follow line 1" in broken.detail


def test_live_probes_are_unverified_before_any_run_and_required_after(settings: Settings, workspace: Path) -> None:
    assert PROBES["tracked_runs"].run(Target.open(workspace)).status == "unverified"
    (settings.state / "reports" / "maturity").mkdir(parents=True)  # the assessment's own output
    assert PROBES["tracked_runs"].run(Target.open(workspace)).status == "unverified"
    (settings.state / "level0").mkdir()
    missing = PROBES["tracked_runs"].run(Target.open(workspace))
    assert missing.status == "fail" and "no MLflow store" in missing.detail
