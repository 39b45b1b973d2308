"""The canary controller: step the weight, promote, or roll back, against a running service.

Each interval it scrapes the service's metrics (every replica's, added: ``services`` is
one URL or all of them) and judges the challenger
(``serving/analysis.py``). A passed interval moves to the next step of
``canary.yaml``; passing at 100% promotes through governance
(``governance/promotion.py``: the champion policy, the alias move, the audit entry,
the card), and the canary state is cleared so the service reloads. Refused, the
challenger is rolled back naming the failing rules; in manual approval mode, it stops
at the final step with the champion answering everyone and waits for ``make approve``
(or ``make reject``).

``analysis.threshold`` failed intervals, or the progress deadline, roll back: the weight
goes to 0 first (so the champion answers everyone), then governance retires the
version with the reason. Every replica picks up each change from the state document
(``core/loop_store.py``: a file, or an object on the shared store) without a restart.

This module is the serving half of every role change: it writes what the service
routes by, and leaves the registry, the policy and the audit trail to governance.
``make canary`` runs ``run_canary`` (``pipelines/flows/canary.py``) next to ``make serve``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from core import registry
from core.settings import Settings
from governance import promotion
from governance.policy import ComplianceReport
from serving.analysis import Progress, QualityComparison, VariantCounters, judge_interval, parse_metrics
from serving.canary import CanaryConfig, CanaryState, load_canary_config, write_state

ACTOR = "canary-controller"
# (challenger version, ISO time the canary began) -> the comparison, or None until labels suffice
QualityProbe = Callable[[str, str], QualityComparison | None]


# One service URL, or every replica's: the controller routes and judges them as one service.
Services = str | Sequence[str]


def replicas(services: Services) -> tuple[str, ...]:
    return (services,) if isinstance(services, str) else tuple(services)


def wait_until_routing(services: Services, state: CanaryState, seconds: float = 30) -> None:
    """Block until every replica routes by ``state`` (each follows the state document within a second)."""
    deadline = time.monotonic() + seconds
    for url in replicas(services):
        seen: dict[str, object] = {}
        while time.monotonic() < deadline:
            seen = httpx.post(f"{url}/canary", timeout=10).json()
            if (seen["challenger_version"], seen["weight"], seen["shadow"]) == (
                state.challenger_version,
                state.weight,
                state.shadow,
            ):
                break
            time.sleep(0.1)
        else:
            raise TimeoutError(f"the service at {url} never routed by {state}; it reports {seen}")


def scrape(services: Services) -> dict[str, VariantCounters]:
    """Every replica's counters, added: the canary is judged on all of its traffic, wherever it landed."""
    total: dict[str, VariantCounters] = {}
    for url in replicas(services):
        for variant, counters in parse_metrics(httpx.get(f"{url}/metrics", timeout=10).text).items():
            total[variant] = total[variant].plus(counters) if variant in total else counters
    return total


def _apply(settings: Settings, services: Services, state: CanaryState) -> None:
    write_state(settings, state)
    wait_until_routing(services, state)


def promote(
    settings: Settings, version: str, *, actor: str = ACTOR, reason: str = "passed every canary step"
) -> str | None:
    """Promote through governance (raises ``promotion.PromotionRefused``), then clear the canary state."""
    old = promotion.promote(settings, version, actor=actor, reason=reason)
    write_state(settings, CanaryState(note=f"v{version} promoted to champion"))
    return old


def rollback(settings: Settings, version: str, reason: str, *, actor: str = ACTOR) -> None:
    """Send everyone back to the champion first, then let governance retire the challenger."""
    write_state(settings, CanaryState(note=f"v{version} rolled back: {reason}"))
    promotion.retire(settings, version, reason, actor=actor)


def hold_for_approval(settings: Settings, version: str, report: ComplianceReport) -> None:
    """Manual approval mode: the champion answers everyone until someone decides."""
    write_state(settings, CanaryState(note=f"v{version} passed the canary; waits for approval"))
    promotion.hold_for_approval(settings, version, report)


def park(settings: Settings, version: str, reason: str) -> None:
    """An inconclusive canary: the champion answers everyone; the challenger keeps its alias for a person (or a
    longer canary) to decide. Nothing is rolled back, because nothing was shown to be wrong."""
    write_state(settings, CanaryState(note=f"v{version} inconclusive; the champion serves"))
    registry.set_version_tags(settings, version, {"canary": "inconclusive", "canary_reason": reason})


def approve(settings: Settings, version: str, *, approver: str, reason: str) -> str:
    """A person's approval (``make approve``); a promotion it completes reaches the service at once."""
    outcome = promotion.approve(settings, version, approver=approver, reason=reason)
    if outcome.champion_changed:
        write_state(settings, CanaryState(note=f"v{version} approved and promoted to champion"))
    return outcome.message


def reject(settings: Settings, version: str, *, approver: str, reason: str) -> str:
    """A person's rejection (``make reject``); a retired challenger stops getting traffic at once."""
    if registry.alias_version(settings, registry.CHALLENGER) == version:
        write_state(settings, CanaryState(note=f"v{version} rejected by {approver}"))
    return promotion.reject(settings, version, approver=approver, reason=reason).message


def _finish(settings: Settings, version: str, run: CanaryRun, note: Callable[[str], None]) -> CanaryRun:
    """The canary passed at 100%: promote, hold for an approval, or roll back on the policy's word."""
    try:
        old = promote(settings, version)
    except promotion.PromotionRefused as refused:
        if refused.report.only_waiting_for_approval:
            hold_for_approval(settings, version, refused.report)
            run.outcome = "awaiting_approval"
            note(f"v{version} passed the canary; waits for approval (make approve VERSION={version}); champion serves")
            return run
        rollback(settings, version, str(refused))
        run.outcome = "rolled_back"
        note(f"v{version} rolled back: {refused}")
        return run
    run.outcome = "promoted"
    note(f"v{version} promoted to champion (previous: v{old})")
    return run


@dataclass
class CanaryRun:
    version: str
    outcome: str = "running"  # running | promoted | rolled_back | awaiting_approval | inconclusive
    history: list[str] = field(default_factory=list)


def run_canary(
    settings: Settings,
    services: Services,
    config: CanaryConfig | None = None,
    report: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    quality: QualityProbe | None = None,
) -> CanaryRun | None:
    """Take the current challenger through every step, or roll it back. None if there is none.

    ``services`` is the service's URL, or every replica's: the weight reaches all of them
    through the one state document, and each interval judges their traffic together.

    ``quality(version, since)`` compares the variants on labelled predictions logged
    since the canary began (monitoring/canary_quality.py), or returns None while too
    few labels have arrived.
    """
    config = config or load_canary_config()
    version = registry.alias_version(settings, registry.CHALLENGER)
    if version is None:
        report("no challenger in the registry: nothing to do")
        return None
    run = CanaryRun(version)

    def note(line: str) -> None:
        run.history.append(line)
        report(line)

    if promotion.is_held(settings, version):
        note(f"v{version} already passed the canary; checking for an approval")
        return _finish(settings, version, run, note)

    started, verdict = time.monotonic(), None
    progress = Progress(config.steps, config.analysis.threshold)
    since = dt.datetime.now(dt.UTC).isoformat()
    _apply(settings, services, CanaryState(version, progress.weight, config.shadow, "step 1"))
    note(f"v{version}: weight {progress.weight}%")
    begun = before = scrape(services)
    while time.monotonic() - started <= config.analysis.progress_deadline_seconds:
        sleep(config.analysis.interval_seconds)
        now = scrape(services)
        verdict = judge_interval(
            now["champion"].minus(begun["champion"]),  # since the canary began: enough for its p99
            now["challenger"].minus(before["challenger"]),
            config.metrics,
            config.analysis.min_requests,
            quality(version, since) if quality else None,
        )
        note(f"v{version} at {progress.weight}%: {verdict}")
        move = progress.record(verdict)
        if verdict.outcome in ("pass", "fail"):
            before = now  # wait and inconclusive: the interval grows until its data can tell
        if move == "promote":
            return _finish(settings, version, run, note)
        if move == "advance":
            write_state(
                settings,
                CanaryState(version, progress.weight, config.shadow, f"step {progress.step + 1}"),
            )
            note(f"v{version}: weight {progress.weight}%")
        elif move == "rollback":
            rollback(settings, version, "; ".join(verdict.reasons))
            run.outcome = "rolled_back"
            note(f"v{version} rolled back after {progress.failures} failed intervals")
            return run
    deadline = config.analysis.progress_deadline_seconds
    if verdict is not None and verdict.outcome == "inconclusive":
        park(settings, version, f"quality still inconclusive after {deadline} s: {verdict}")
        run.outcome = "inconclusive"
        note(f"v{version} inconclusive after {deadline} s: the champion answers everyone; v{version} stays challenger")
        return run
    rollback(settings, version, "progress deadline passed")
    run.outcome = "rolled_back"
    note(f"v{version} rolled back: no promotion within {deadline} s")
    return run
