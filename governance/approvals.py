"""Approvals and rejections: a person's decision about a version, recorded where it cannot be quietly changed.

The decision goes into the audit trail (the record the policy reads: the latest approval
or rejection of a version counts) and onto the version's registry tags (for people
browsing the registry), and the model card is rewritten to show it. What follows from a
decision (a waiting promotion completes, a challenger is retired) is for the caller:
``governance/promotion.py`` completes it.
"""

from __future__ import annotations

from typing import Literal

from core import registry
from core.settings import Settings
from governance import audit
from governance.evidence import version_record
from governance.review import publish_card

Kind = Literal["approval", "rejection"]


def decide(settings: Settings, version: str, kind: Kind, *, approver: str, reason: str) -> audit.AuditEntry:
    """Record ``approver``'s approval or rejection of ``version``, with the reason."""
    if not approver.strip():
        raise ValueError("an approval or rejection needs the approver's name (APPROVER=...)")
    if not reason.strip():
        raise ValueError("an approval or rejection needs a reason (REASON=...)")
    record = version_record(settings, version)  # fails naming the version if it does not exist
    entry = audit.record(settings, kind, actor=approver, version=record.version, reason=reason)
    registry.set_version_tags(
        settings,
        record.version,
        {
            "approval": "approved" if kind == "approval" else "rejected",
            "approval_by": approver,
            "approval_reason": reason,
        },
    )
    publish_card(settings, record.version)
    return entry


def waiting_stages(settings: Settings, version: str) -> list[str]:
    """The stages whose policy refused ``version`` for want of an approval only."""
    tags = version_record(settings, version).tags
    return [stage for stage in ("champion", "challenger") if tags.get(f"policy_{stage}") == "awaiting_approval"]
