"""The canary controller: step the weight, promote, or roll back, against a running service.

Each interval it scrapes the service's metrics and judges the challenger
(``serving/analysis.py``). A passed interval moves to the next step of
``canary.yaml``; passing at 100% promotes: the ``champion`` alias moves to the
challenger, the old champion keeps ``previous`` for an instant rollback, and the
canary state is cleared. Before the alias moves, the governance policy for the champion
stage is evaluated (``governance/review.py``): refused, the challenger is rolled back
naming the failing rules; in manual approval mode, it stops at the final step with the
champion answering everyone and waits for ``make approve`` (or ``make reject``). Every
promotion and rollback is recorded in the audit trail.

``analysis.threshold`` failed intervals, or the progress deadline, roll back: the weight
goes to 0 first (so the champion answers everyone), then the version is tagged with the
reason and loses its alias. The service picks up every change from the state file
without a restart.

Run it with ``python -m serving.controller`` (``make canary``) next to ``make serve``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from core.settings import Settings
from governance import audit, review
from governance.policy import ComplianceReport
from serving.analysis import IntervalVerdict, QualityComparison, judge_interval, parse_metrics
from serving.canary import CanaryConfig, CanaryState, load_canary_config, write_state
from serving.runtime import CHALLENGER, CHAMPION, PREVIOUS, state_path

ACTOR = "canary-controller"
AWAITING = "awaiting_approval"  # the version's `canary` tag while it waits for a person
# (challenger version, ISO time the canary began) -> the comparison, or None until labels suffice
QualityProbe = Callable[[str, str], QualityComparison | None]


def _registry(settings: Settings) -> MlflowClient:
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def alias_version(settings: Settings, alias: str) -> str | None:
    try:
        return str(_registry(settings).get_model_version_by_alias(settings.mlflow.registered_model, alias).version)
    except MlflowException:
        return None


def wait_until_routing(service_url: str, state: CanaryState, seconds: float = 30) -> None:
    """Block until the service at ``service_url`` routes by ``state`` (it follows the file within a second)."""
    deadline, seen = time.monotonic() + seconds, {}
    while time.monotonic() < deadline:
        seen = httpx.post(f"{service_url}/canary", timeout=10).json()
        if (seen["challenger_version"], seen["weight"], seen["shadow"]) == (
            state.challenger_version,
            state.weight,
            state.shadow,
        ):
            return
        time.sleep(0.1)
    raise TimeoutError(f"the service at {service_url} never routed by {state}; it reports {seen}")


def _apply(settings: Settings, service_url: str, state: CanaryState) -> None:
    write_state(state_path(settings), state)
    wait_until_routing(service_url, state)


class PromotionRefused(RuntimeError):
    """The champion-stage policy refused the version; the message names every failing rule."""

    def __init__(self, report: ComplianceReport) -> None:
        super().__init__(report.summary())
        self.report = report


def promote(
    settings: Settings, version: str, *, actor: str = ACTOR, reason: str = "passed every canary step"
) -> str | None:
    """Make ``version`` the champion if the champion policy allows; the old one becomes ``previous``.

    Returns the old champion. Raises ``PromotionRefused`` (nothing moved) when the policy
    refuses, including, in manual approval mode, for want of an approval.
    """
    report = review.check(settings, version, "champion", actor=actor)
    if not report.passed:
        raise PromotionRefused(report)
    registry, name = _registry(settings), settings.mlflow.registered_model
    old = alias_version(settings, CHAMPION)
    if old is not None:
        registry.set_registered_model_alias(name, PREVIOUS, old)
    registry.set_registered_model_alias(name, CHAMPION, version)
    if alias_version(settings, CHALLENGER) == version:
        registry.delete_registered_model_alias(name, CHALLENGER)
    registry.set_model_version_tag(name, version, "canary", "promoted")
    write_state(state_path(settings), CanaryState(note=f"v{version} promoted to champion"))
    audit.record(
        settings, "promotion", actor=actor, version=version, reason=reason, details={"alias": CHAMPION, "previous": old}
    )
    review.publish_card(settings, version)
    return old


def rollback(settings: Settings, version: str, reason: str, *, actor: str = ACTOR) -> None:
    """Send everyone back to the champion, then retire the challenger with the reason."""
    write_state(state_path(settings), CanaryState(note=f"v{version} rolled back: {reason}"))
    registry, name = _registry(settings), settings.mlflow.registered_model
    registry.set_model_version_tag(name, version, "canary", "rejected")
    registry.set_model_version_tag(name, version, "canary_reason", reason[:5000])
    if alias_version(settings, CHALLENGER) == version:
        registry.delete_registered_model_alias(name, CHALLENGER)
    audit.record(settings, "rollback", actor=actor, version=version, reason=reason)
    review.publish_card(settings, version)


def hold_for_approval(settings: Settings, version: str, report: ComplianceReport) -> None:
    """Manual approval mode: the challenger passed the canary; the champion answers everyone until someone decides."""
    write_state(state_path(settings), CanaryState(note=f"v{version} passed the canary; waits for approval"))
    registry, name = _registry(settings), settings.mlflow.registered_model
    registry.set_model_version_tag(name, version, "canary", AWAITING)
    registry.set_model_version_tag(name, version, "canary_reason", report.summary()[:5000])


def _finish(settings: Settings, version: str, run: CanaryRun, note: Callable[[str], None]) -> CanaryRun:
    """The canary passed at 100%: promote, hold for an approval, or roll back on the policy's word."""
    try:
        old = promote(settings, version)
    except PromotionRefused as refused:
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
    outcome: str = "running"  # running | promoted | rolled_back | awaiting_approval
    history: list[str] = field(default_factory=list)


def run_canary(
    settings: Settings,
    service_url: str,
    config: CanaryConfig | None = None,
    report: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    quality: QualityProbe | None = None,
) -> CanaryRun | None:
    """Take the current challenger through every step, or roll it back. None if there is none.

    ``quality(version, since)`` compares the variants on labelled predictions logged
    since the canary began (monitoring/canary_quality.py), or returns None while too
    few labels have arrived.
    """
    config = config or load_canary_config()
    version = alias_version(settings, CHALLENGER)
    if version is None:
        report("no challenger in the registry: nothing to do")
        return None
    run = CanaryRun(version)

    def note(line: str) -> None:
        run.history.append(line)
        report(line)

    if _registry(settings).get_model_version(settings.mlflow.registered_model, version).tags.get("canary") == AWAITING:
        note(f"v{version} already passed the canary; checking for an approval")
        return _finish(settings, version, run, note)

    started, failures, step = time.monotonic(), 0, 0
    since = dt.datetime.now(dt.UTC).isoformat()
    _apply(settings, service_url, CanaryState(version, config.steps[0], config.shadow, "step 1"))
    note(f"v{version}: weight {config.steps[0]}%")
    before = parse_metrics(httpx.get(f"{service_url}/metrics", timeout=10).text)
    while True:
        sleep(config.analysis.interval_seconds)
        now = parse_metrics(httpx.get(f"{service_url}/metrics", timeout=10).text)
        verdict: IntervalVerdict = judge_interval(
            now["champion"].minus(before["champion"]),
            now["challenger"].minus(before["challenger"]),
            config.metrics,
            config.analysis.min_requests,
            quality(version, since) if quality else None,
        )
        weight = config.steps[step]
        note(f"v{version} at {weight}%: {verdict}")
        if verdict.outcome == "pass":
            before, failures = now, 0
            if weight == 100:
                return _finish(settings, version, run, note)
            step += 1
            write_state(
                state_path(settings), CanaryState(version, config.steps[step], config.shadow, f"step {step + 1}")
            )
            note(f"v{version}: weight {config.steps[step]}%")
        elif verdict.outcome == "fail":
            before, failures = now, failures + 1
            if failures >= config.analysis.threshold:
                rollback(settings, version, "; ".join(verdict.reasons))
                run.outcome = "rolled_back"
                note(f"v{version} rolled back after {failures} failed intervals")
                return run
        if time.monotonic() - started > config.analysis.progress_deadline_seconds:
            rollback(settings, version, "progress deadline passed")
            run.outcome = "rolled_back"
            note(f"v{version} rolled back: no promotion within {config.analysis.progress_deadline_seconds} s")
            return run


def main(argv: list[str] | None = None) -> int:
    from core.environment import apply_tool_environment
    from core.settings import load_settings

    parser = argparse.ArgumentParser(prog="make canary", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="the running service (make serve)")
    args = parser.parse_args(argv)
    settings = load_settings()
    apply_tool_environment(settings)
    from monitoring.canary_quality import quality_probe

    result = run_canary(settings, args.url, quality=quality_probe(settings))
    return 0 if result is None or result.outcome in ("promoted", "awaiting_approval") else 1


if __name__ == "__main__":
    raise SystemExit(main())
