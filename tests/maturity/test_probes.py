"""Single probes on hand-made state: what counts as evidence, and what does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.settings import Settings
from governance import audit
from maturity.probes import PROBES
from maturity.target import Target

pytestmark = pytest.mark.unit


def trail(settings: Settings, events: list[str]) -> Path:
    """A real audit trail, written by governance.audit (hashes, links and head)."""
    (settings.state / "level0").mkdir(parents=True, exist_ok=True)  # the project has run: live evidence required
    for event in events:
        audit.record(settings, event, actor="tests", version="1", reason=f"{event} in a test")
    return audit.audit_path(settings)


def test_an_audit_trail_that_verifies_counts(settings: Settings, workspace: Path) -> None:
    trail(settings, ["registration", "promotion", "rollback", "retrain_trigger"])
    target = Target.open(workspace)
    found = PROBES["audit_log"].run(target)
    assert found.status == "pass" and "4 event(s), verified (hashes, links, head)" in found.detail
    assert found.where is not None and found.where.endswith("audit.jsonl")
    assert PROBES["self_healing"].run(target).status == "pass"


def test_an_edited_line_fails_the_trails_own_verification(settings: Settings, workspace: Path) -> None:
    """The links still hold after an edit (no hash was recomputed): only the trail's verification sees it."""
    log = trail(settings, ["registration", "promotion", "rollback"])
    lines = log.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["reason"] = "edited by hand"
    lines[1] = json.dumps(edited, sort_keys=True)
    log.write_text("\n".join(lines) + "\n")
    assert [json.loads(line)["previous_hash"] for line in lines[1:]] == [
        json.loads(line)["hash"] for line in lines[:-1]
    ]

    broken = PROBES["audit_log"].run(Target.open(workspace))
    assert broken.status == "fail" and "chain intact" not in broken.detail
    assert "line 2: content does not match its hash (edited)" in broken.detail


def test_lines_cut_from_the_end_fail_against_the_head(settings: Settings, workspace: Path) -> None:
    log = trail(settings, ["registration", "promotion", "rollback"])
    log.write_text("\n".join(log.read_text().splitlines()[:2]) + "\n")  # a shorter chain, still linked
    broken = PROBES["audit_log"].run(Target.open(workspace))
    assert broken.status == "fail" and "the head records 3 entries" in broken.detail


def test_live_probes_are_unverified_before_any_run_and_required_after(settings: Settings, workspace: Path) -> None:
    assert PROBES["tracked_runs"].run(Target.open(workspace)).status == "unverified"
    (settings.state / "reports" / "maturity").mkdir(parents=True)  # the assessment's own output
    assert PROBES["tracked_runs"].run(Target.open(workspace)).status == "unverified"
    (settings.state / "level0").mkdir()
    missing = PROBES["tracked_runs"].run(Target.open(workspace))
    assert missing.status == "fail" and "no MLflow store" in missing.detail
