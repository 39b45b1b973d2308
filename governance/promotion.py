"""Promotion, in one place: the policy check, the alias move, the audit entry and the model card.

Every change of a version's role goes through here, whoever asks: the training
pipeline (a version that passed the gate becomes ``challenger``, or the first
``champion``), the canary controller (a challenger that passed every step becomes
``champion``; one that failed is retired), and people (``make approve`` / ``make
reject``). What the service routes by while this happens is the controller's business
(``serving/controller.py``); this module never touches serving.

* ``give_role``: point a role's alias at a version the policy allowed. For
  ``champion``, the old champion keeps ``previous`` for an instant rollback and the
  version stops being ``challenger``.
* ``promote``: the champion policy first (``governance/review.py``); refused, nothing
  moves and ``PromotionRefused`` names every failing rule.
* ``retire``: a challenger loses its alias, with the reason, as a rollback.
* ``hold_for_approval``: manual approval mode: the version passed everything but an
  approval and waits for a person.
* ``approve`` / ``reject``: record a person's decision, then complete what waited for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import registry
from core.settings import Settings
from governance import approvals, audit, review
from governance.policy import ComplianceReport, Stage

AWAITING = "awaiting_approval"  # the version's `canary` tag while it waits for a person


class PromotionRefused(RuntimeError):
    """The champion-stage policy refused the version; the message names every failing rule."""

    def __init__(self, report: ComplianceReport) -> None:
        super().__init__(report.summary())
        self.report = report


def give_role(settings: Settings, version: str, stage: Stage, *, actor: str, reason: str) -> str | None:
    """Point ``stage``'s alias at ``version`` (its policy has passed); audit it, refresh its card.

    Returns the version that held the role before, if any.
    """
    old = registry.alias_version(settings, stage)
    details: dict[str, object] = {"alias": stage}
    if stage == registry.CHAMPION:
        if old is not None and old != version:
            registry.set_alias(settings, registry.PREVIOUS, old)
        details["previous"] = old
    registry.set_alias(settings, stage, version)
    if stage == registry.CHAMPION:
        if registry.alias_version(settings, registry.CHALLENGER) == version:
            registry.delete_alias(settings, registry.CHALLENGER)
        registry.set_version_tags(settings, version, {"canary": "promoted"})
    audit.record(settings, "promotion", actor=actor, version=version, reason=reason, details=details)
    review.publish_card(settings, version)
    return old


def promote(settings: Settings, version: str, *, actor: str, reason: str) -> str | None:
    """Make ``version`` the champion if the champion policy allows; returns the old champion.

    Raises ``PromotionRefused`` (nothing moved) when the policy refuses, including, in
    manual approval mode, for want of an approval.
    """
    report = review.check(settings, version, "champion", actor=actor)
    if not report.passed:
        raise PromotionRefused(report)
    return give_role(settings, version, "champion", actor=actor, reason=reason)


def retire(settings: Settings, version: str, reason: str, *, actor: str) -> None:
    """The challenger loses its alias; the version is tagged with the reason; audited as a rollback."""
    registry.set_version_tags(settings, version, {"canary": "rejected", "canary_reason": reason})
    if registry.alias_version(settings, registry.CHALLENGER) == version:
        registry.delete_alias(settings, registry.CHALLENGER)
    audit.record(settings, "rollback", actor=actor, version=version, reason=reason)
    review.publish_card(settings, version)


def hold_for_approval(settings: Settings, version: str, report: ComplianceReport) -> None:
    """Manual approval mode: the version passed its canary and waits for someone to decide."""
    registry.set_version_tags(settings, version, {"canary": AWAITING, "canary_reason": report.summary()})


def is_held(settings: Settings, version: str) -> bool:
    return registry.version_tags(settings, version).get("canary") == AWAITING


@dataclass(frozen=True)
class DecisionOutcome:
    """What a person's decision did: the text for them, and what changed in the registry."""

    message: str
    champion_changed: bool = False
    retired: bool = False


def approve(settings: Settings, version: str, *, approver: str, reason: str) -> DecisionOutcome:
    """Record an approval; complete the promotion that waited for it, if any."""
    approvals.decide(settings, version, "approval", approver=approver, reason=reason)
    waiting = approvals.waiting_stages(settings, version)
    if "champion" in waiting:
        old = promote(settings, version, actor=approver, reason=f"approved: {reason}")
        shown = f"v{old}" if old else "none"
        return DecisionOutcome(f"v{version} approved and promoted to champion (previous: {shown})", True)
    if "challenger" in waiting:
        report = review.check(settings, version, "challenger", actor=approver)
        if not report.passed:
            return DecisionOutcome(
                f"v{version} approved, but the challenger policy still refuses it: {report.summary()}"
            )
        give_role(settings, version, "challenger", actor=approver, reason=f"approved: {reason}")
        return DecisionOutcome(f"v{version} approved and registered as challenger")
    return DecisionOutcome(f"v{version} approved (recorded; nothing was waiting for it)")


def reject(settings: Settings, version: str, *, approver: str, reason: str) -> DecisionOutcome:
    """Record a rejection; a challenger is retired. The policy refuses a rejected version from now on."""
    approvals.decide(settings, version, "rejection", approver=approver, reason=reason)
    if registry.alias_version(settings, registry.CHALLENGER) == version:
        retire(settings, version, f"rejected by {approver}: {reason}", actor=approver)
        return DecisionOutcome(f"v{version} rejected and retired as challenger; the champion serves", retired=True)
    return DecisionOutcome(f"v{version} rejected (recorded; the policy refuses it from now on)")
