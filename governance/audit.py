"""The audit trail: an append-only JSONL log, each line chained to the one before by its hash.

Every registration, gate and policy verdict, approval, rejection, promotion, rollback and
retrain trigger is one line: what happened, who or what did it, when, to which version
and why. Each line carries the SHA-256 of the line before it and its own, computed over
its canonical JSON, so editing, deleting or reordering a line breaks the chain at that
line. Deleting lines at the end leaves a shorter chain that is still whole; the head
file (``audit.head.json``: how many lines, the last hash) catches that. Anyone who can
rewrite both files can forge history: for that, ship the head somewhere append-only
(the README says how); locally this detects accidents and casual edits.

Appends are safe against concurrent writers on one machine (an exclusive ``fcntl``
lock around read-last-hash, append, fsync, update head) and a crash cannot damage
earlier lines: each entry is one ``write`` of one line on an append-only descriptor,
fsynced before ``record`` returns. A torn last line (the process died mid-write, so the
entry was never acknowledged) is cut off by the next ``record``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.files import write_json_atomically
from core.settings import Settings

GENESIS = "0" * 64
EVENTS = frozenset(
    {
        "registration",
        "gate_verdict",
        "policy_verdict",
        "approval",
        "rejection",
        "promotion",
        "rollback",
        "retrain_trigger",
    }
)


def audit_path(settings: Settings) -> Path:
    return settings.state / "governance" / "audit.jsonl"


def _head_path(log: Path) -> Path:
    return log.with_name(log.stem + ".head.json")


@dataclass(frozen=True)
class AuditEntry:
    """One line of the trail."""

    sequence: int
    time: str
    event: str
    actor: str
    version: str | None
    reason: str
    details: dict[str, Any]
    previous_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """Everything the hash covers: the whole entry but the hash itself."""
        fields = asdict(self)
        fields.pop("hash")
        return fields


class AuditTrailBroken(RuntimeError):
    """The trail's end is not the one its head recorded: the writer will not chain onto lines it did not write."""


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    entries: list[AuditEntry]
    problems: list[str] = field(default_factory=list)


def _digest(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@contextlib.contextmanager
def _locked(log: Path) -> Iterator[None]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.with_name(log.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _last_complete_line(log: Path) -> tuple[bytes | None, int]:
    """The last newline-terminated line and the size the file should have (a torn tail excluded)."""
    if not log.exists():
        return None, 0
    data = log.read_bytes()
    end = data.rfind(b"\n") + 1  # 0 when no complete line at all
    if end == 0:
        return None, 0
    start = data.rfind(b"\n", 0, end - 1) + 1
    return data[start : end - 1], end


def _write_head(log: Path, sequence: int, digest: str) -> None:
    write_json_atomically(_head_path(log), {"entries": sequence, "last_hash": digest}, durable=True)


def _refuse_foreign_end(log: Path, last: dict[str, Any] | None) -> None:
    """Chaining a new entry onto a line the writer never recorded would make the head vouch for it."""
    head_file = _head_path(log)
    if not head_file.exists():
        if last is not None:
            raise AuditTrailBroken(f"{head_file.name} is missing; see make audit")
        return
    head = json.loads(head_file.read_text())
    if last is None or (last["sequence"], last["hash"]) != (head["entries"], head["last_hash"]):
        where = "no line" if last is None else f"line {last['sequence']}"
        raise AuditTrailBroken(
            f"the trail ends at {where}, not at the entry {head['entries']} its head recorded "
            "(lines appended or edited by hand); nothing more is recorded until it is repaired: see make audit"
        )


def record(
    settings: Settings,
    event: str,
    *,
    actor: str,
    version: str | None = None,
    reason: str = "",
    details: Mapping[str, object] | None = None,
) -> AuditEntry:
    """Append one event to the trail and return it (durable when this returns)."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}; expected one of {sorted(EVENTS)}")
    if not actor.strip():
        raise ValueError("an audit entry needs an actor: who or what did it")
    log = audit_path(settings)
    with _locked(log):
        last, size = _last_complete_line(log)
        if log.exists() and log.stat().st_size != size:
            os.truncate(log, size)  # a torn tail: a write that never completed, never acknowledged
        previous = json.loads(last) if last else None
        _refuse_foreign_end(log, previous)
        body = {
            "sequence": previous["sequence"] + 1 if previous else 1,
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "event": event,
            "actor": actor,
            "version": None if version is None else str(version),
            "reason": reason,
            "details": json.loads(json.dumps(dict(details or {}), default=str)),
            "previous_hash": previous["hash"] if previous else GENESIS,
        }
        entry = AuditEntry(**body, hash=_digest(body))
        line = json.dumps(asdict(entry), sort_keys=True, ensure_ascii=False) + "\n"
        descriptor = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line.encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        _write_head(log, entry.sequence, entry.hash)
    return entry


def _parse(number: int, raw: str, problems: list[str]) -> AuditEntry | None:
    try:
        return AuditEntry(**json.loads(raw))
    except (json.JSONDecodeError, TypeError) as error:
        problems.append(f"line {number}: not a valid audit entry ({error})")
        return None


def history(settings: Settings) -> list[AuditEntry]:
    """Every entry, oldest first (parsed, not verified: ``verify`` says whether to trust them)."""
    log = audit_path(settings)
    if not log.exists():
        return []
    problems: list[str] = []
    lines = log.read_text().splitlines()
    return [e for n, raw in enumerate(lines, start=1) if raw.strip() and (e := _parse(n, raw, problems))]


def verify(settings: Settings) -> AuditCheck:
    """Check every line's hash and link, and the head; name the line of each problem."""
    log = audit_path(settings)
    if not log.exists():
        return AuditCheck(True, [], [])
    problems: list[str] = []
    entries: list[AuditEntry] = []
    data = log.read_text()
    if data and not data.endswith("\n"):
        problems.append(f"line {data.count(chr(10)) + 1}: incomplete (a write was interrupted)")
    expected_previous, expected_sequence = GENESIS, 1
    for number, raw in enumerate(data.splitlines(), start=1):
        entry = _parse(number, raw, problems)
        if entry is None:
            expected_previous = "?"
            continue
        entries.append(entry)
        if _digest(entry.body()) != entry.hash:
            problems.append(f"line {number}: content does not match its hash (edited)")
        if entry.previous_hash != expected_previous:
            problems.append(f"line {number}: does not follow line {number - 1} (a line was deleted, moved or edited)")
        if entry.sequence != expected_sequence:
            problems.append(f"line {number}: sequence {entry.sequence}, expected {expected_sequence}")
        expected_previous, expected_sequence = entry.hash, entry.sequence + 1
    head_file = _head_path(log)
    if head_file.exists():
        head = json.loads(head_file.read_text())
        count, last_hash = int(head["entries"]), str(head["last_hash"])
        if len(entries) < count:
            problems.append(f"line {len(entries) + 1}: missing; the head records {count} entries (lines deleted)")
        elif entries and entries[count - 1].hash != last_hash:
            problems.append(f"line {count}: differs from the entry the head recorded")
        # Only the trail's writer moves the head; a line it never recorded was appended by someone else.
        problems += [
            f"line {number}: past the head, which records {count} entries (not written by the trail's writer)"
            for number in range(count + 1, len(entries) + 1)
        ]
    elif entries:
        problems.append(f"{head_file.name} is missing: the end of the trail cannot be checked")
    return AuditCheck(not problems, entries, problems)


def trusted_history(settings: Settings) -> AuditCheck:
    """The entries that may count as evidence: all of them if the chain and its head verify, none otherwise.

    A decision read from a trail that does not verify could be forged (a hand-appended
    approval is correctly chained, but the head, which only ``record`` moves, does not
    know it), so the policy reads decisions from here and refuses when the trail is broken.
    """
    check = verify(settings)
    return check if check.ok else AuditCheck(False, [], check.problems)


def describe(entry: AuditEntry) -> str:
    """One readable line per entry, for ``make audit``."""
    version = f"v{entry.version}" if entry.version else "-"
    return f"{entry.sequence:>4}  {entry.time}  {entry.event:<16} {version:<5} {entry.actor:<22} {entry.reason}"
