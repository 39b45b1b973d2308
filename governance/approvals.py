"""Approvals and rejections: a person's decision about a version, recorded where it cannot be quietly changed.

The decision goes into the audit trail (the record the policy reads: the latest approval
or rejection of a version counts) and onto the version's registry tags (for people
browsing the registry), and the model card is rewritten to show it. What follows from a
decision (a waiting promotion completes, a challenger is retired) is for the caller:
``governance/promotion.py`` completes it.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from typing import Literal

from core import registry
from core.settings import Settings
from governance import audit
from governance.evidence import version_record
from governance.review import publish_card

Kind = Literal["approval", "rejection"]


# What CI systems say about who started a job, by system.
CI_ACTORS = ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_REQUESTEDFOR", "CIRCLE_USERNAME", "BUILD_USER_ID")


def who_ran_it(environ: Mapping[str, str]) -> dict[str, str]:
    """The identity the machine vouches for, beside the name the approver gave: the OS user and any CI actor.

    ``APPROVER=`` is free text; this is what the trail can add that the person did not type.
    """
    found = {"os_user": getpass.getuser()}
    found |= {f"ci_actor ({name})": environ[name] for name in CI_ACTORS if environ.get(name)}
    return found


def decide(settings: Settings, version: str, kind: Kind, *, approver: str, reason: str) -> audit.AuditEntry:
    """Record ``approver``'s approval or rejection of ``version``, with the reason."""
    if not approver.strip():
        raise ValueError("an approval or rejection needs the approver's name (APPROVER=...)")
    if not reason.strip():
        raise ValueError("an approval or rejection needs a reason (REASON=...)")
    record = version_record(settings, version)  # fails naming the version if it does not exist
    entry = audit.record(
        settings, kind, actor=approver, version=record.version, reason=reason, details=who_ran_it(os.environ)
    )
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
