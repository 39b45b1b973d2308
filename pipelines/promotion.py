"""From a trained candidate to a registry version: judge it, and register it only if it passes.

The first model that passes becomes ``champion``; later ones become ``challenger`` and
wait for the canary (serving/) to promote them. A rejected candidate, or any candidate
in ``gate.dry_run``, is registered nowhere; its run still records the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings
from pipelines import gate, registry, tracking
from pipelines.training import TrainedModel


@dataclass(frozen=True)
class Decision:
    verdict: gate.GateVerdict
    version: str | None
    alias: str | None
    note: str

    @property
    def summary(self) -> str:
        return self.verdict.summary()


def gate_and_register(
    settings: Settings, trained: TrainedModel, run_id: str, model_uri: str, lineage: dict[str, str]
) -> Decision:
    """Judge ``trained`` (logged as ``run_id``/``model_uri``) on its holdout; register if it passes."""
    champion = registry.load_alias(settings, registry.CHAMPION)
    candidate = gate.ModelUnderTest(trained.model, trained.columns)
    incumbent = gate.ModelUnderTest(champion.model, champion.columns, f"v{champion.version}") if champion else None
    verdict = gate.judge(candidate, incumbent, trained.split.holdout, settings)
    tracking.log_verdict(settings, run_id, verdict)

    if not verdict.passed:
        return Decision(verdict, None, None, "not registered; the champion stays")
    if settings.gate.dry_run:
        return Decision(verdict, None, None, "dry run: nothing registered")
    alias = registry.CHALLENGER if champion else registry.CHAMPION
    tags = {
        "training_run": run_id,
        **lineage,
        "git_commit": tracking.code_version().commit,
        "params_digest": registry.settings_digest(settings),
        "model_family": trained.family,
        "gate_verdict": "passed",
        "gate_rules": str(len(verdict.rules)),
        "gate_compared_with": f"v{champion.version}" if champion else "none (first champion)",
    }
    version = registry.register(settings, model_uri, run_id, tags, alias)
    return Decision(verdict, version, alias, f"registered as {alias}")
