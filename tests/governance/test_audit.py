"""The hash-chained audit trail: appends chain, and any edit, deletion or reordering is named."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from governance import audit

pytestmark = pytest.mark.unit


def _fill(settings: Settings, count: int = 5) -> None:
    for n in range(count):
        audit.record(settings, "registration", actor="tests", version=str(n + 1), reason=f"entry {n + 1}")


def _lines(settings: Settings) -> list[str]:
    return audit.audit_path(settings).read_text().splitlines(keepends=True)


def _write(settings: Settings, lines: list[str]) -> None:
    audit.audit_path(settings).write_text("".join(lines))


def test_entries_chain_and_verify(settings: Settings) -> None:
    _fill(settings)
    check = audit.verify(settings)
    assert check.ok, check.problems
    assert [e.sequence for e in check.entries] == [1, 2, 3, 4, 5]
    assert check.entries[0].previous_hash == audit.GENESIS
    assert all(b.previous_hash == a.hash for a, b in zip(check.entries, check.entries[1:], strict=False))
    assert [e.version for e in audit.history(settings)] == ["1", "2", "3", "4", "5"]


def test_an_edited_line_is_named(settings: Settings) -> None:
    _fill(settings)
    lines = _lines(settings)
    edited = json.loads(lines[2])
    edited["reason"] = "something else"
    lines[2] = json.dumps(edited, sort_keys=True) + "\n"
    _write(settings, lines)
    check = audit.verify(settings)
    assert not check.ok and any(p.startswith("line 3:") and "edited" in p for p in check.problems)


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(settings: Settings) -> None:
    _fill(settings)
    lines = _lines(settings)
    forged = json.loads(lines[1])
    forged["actor"] = "someone else"
    forged["hash"] = audit._digest({k: v for k, v in forged.items() if k != "hash"})
    lines[1] = json.dumps(forged, sort_keys=True) + "\n"
    _write(settings, lines)
    check = audit.verify(settings)
    assert not check.ok and any(p.startswith("line 3:") for p in check.problems)


def test_a_deleted_line_is_named(settings: Settings) -> None:
    _fill(settings)
    lines = _lines(settings)
    del lines[1]
    _write(settings, lines)
    check = audit.verify(settings)
    assert not check.ok and any(p.startswith("line 2:") for p in check.problems)


def test_deleting_the_last_lines_is_caught_by_the_head(settings: Settings) -> None:
    _fill(settings)
    _write(settings, _lines(settings)[:3])
    check = audit.verify(settings)
    assert not check.ok and any("lines deleted" in p for p in check.problems)


def test_reordered_lines_are_named(settings: Settings) -> None:
    _fill(settings)
    lines = _lines(settings)
    lines[1], lines[2] = lines[2], lines[1]
    _write(settings, lines)
    check = audit.verify(settings)
    assert not check.ok and any(p.startswith("line 2:") for p in check.problems)


def test_a_torn_last_line_is_cut_by_the_next_record(settings: Settings) -> None:
    _fill(settings, 2)
    with audit.audit_path(settings).open("a") as log:
        log.write('{"sequence": 3, "ti')  # the process died mid-write
    assert not audit.verify(settings).ok
    audit.record(settings, "approval", actor="tests", version="2", reason="after the crash")
    check = audit.verify(settings)
    assert check.ok, check.problems
    assert [e.sequence for e in check.entries] == [1, 2, 3]


def test_unknown_events_and_missing_actors_are_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="unknown audit event 'promoted'"):
        audit.record(settings, "promoted", actor="tests")
    with pytest.raises(ValueError, match="actor"):
        audit.record(settings, "promotion", actor=" ")


def _append_many(params: str, writer: int) -> None:
    settings = load_settings(params, environ={})
    for n in range(20):
        audit.record(settings, "retrain_trigger", actor=f"writer-{writer}", reason=str(n))


def test_concurrent_writers_keep_the_chain_whole(workspace: Path) -> None:
    params = str(workspace / "params.yaml")
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_append_many, args=(params, w)) for w in range(3)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=60)
    check = audit.verify(load_settings(params, environ={}))
    assert check.ok, check.problems
    assert len(check.entries) == 60


def test_make_audit_prints_the_history_and_fails_on_a_broken_chain(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from governance.cli import main

    settings = load_settings(workspace / "params.yaml", environ={})
    _fill(settings, 3)
    params = ["--params", str(workspace / "params.yaml"), "audit"]
    assert main(params) == 0
    shown = capsys.readouterr().out
    assert "verified: 3 entries" in shown and "entry 2" in shown
    lines = _lines(settings)
    _write(settings, [lines[0], lines[2]])
    assert main(params) == 1
    assert "line 2:" in capsys.readouterr().err


def _forge(settings: Settings, event: str, version: str, actor: str) -> None:
    """Append a line chained correctly to the last one, as only the trail's writer should: but leave the head alone."""
    last = json.loads(_lines(settings)[-1])
    body = {
        "sequence": last["sequence"] + 1,
        "time": last["time"],
        "event": event,
        "actor": actor,
        "version": version,
        "reason": "looks fine to me",
        "details": {},
        "previous_hash": last["hash"],
    }
    forged = {**body, "hash": audit._digest(body)}
    with audit.audit_path(settings).open("a") as log:
        log.write(json.dumps(forged, sort_keys=True) + "\n")


def test_a_line_past_the_head_is_named_and_fails_make_audit(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from governance.cli import main

    settings = load_settings(workspace / "params.yaml", environ={})
    _fill(settings, 3)
    _forge(settings, "approval", "3", "mallory")
    check = audit.verify(settings)
    assert not check.ok and any(p.startswith("line 4:") and "past the head" in p for p in check.problems)
    assert main(["--params", str(workspace / "params.yaml"), "audit"]) == 1
    assert "line 4:" in capsys.readouterr().err


def test_only_a_verified_trail_counts_as_evidence(settings: Settings) -> None:
    _fill(settings, 2)
    assert [e.sequence for e in audit.trusted_history(settings).entries] == [1, 2]
    _forge(settings, "approval", "2", "mallory")
    trusted = audit.trusted_history(settings)
    assert trusted.entries == [] and trusted.problems and "past the head" in trusted.problems[0]


def test_the_writer_will_not_chain_onto_a_line_it_did_not_write(settings: Settings) -> None:
    """Otherwise the next legitimate entry would make the head vouch for the forged one."""
    _fill(settings, 2)
    _forge(settings, "approval", "2", "mallory")
    with pytest.raises(audit.AuditTrailBroken, match="not at the entry 2 its head recorded"):
        audit.record(settings, "promotion", actor="tests", version="2", reason="would launder the forgery")
    assert any("line 3: past the head" in p for p in audit.verify(settings).problems)
