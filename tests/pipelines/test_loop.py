"""The Level-3 loop end to end (slow): a real service, simulated weeks over HTTP, real
Evidently reports, the trigger, a retraining subflow, the gate and the canary; then the
maturity assessment of the project it ran in scores every component at least 3.

One loop serves both checks: it is the slowest thing in the slow tier, and the workshop
walk (tests/workshop) runs ``make pipeline`` and ``make assess`` once more the newcomer's way."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import registry
from core.environment import apply_tool_environment
from core.settings import load_settings
from core.synthetic import SHIFTED_COLUMNS
from governance import audit
from maturity.model import COMPONENTS
from maturity.scoring import assess
from pipelines.flows.loop import run_loop
from tests.conftest import write_params
from tests.maturity.conftest import copy_project, failing, scores

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.long]


def test_drifted_traffic_leads_to_a_promoted_retrained_version_and_level_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project(tmp_path / "project")
    params = write_params(
        project,
        data={"history_weeks": 6, "applications_per_week": 700, "customers": 1500},
        training={
            "search": {  # two families: Level 3's model selection compares them
                "budget": 2,
                "validation_weeks": 1,
                "primary_metric": "roc_auc",
                "space": {
                    "logistic_regression": {"C": [0.3], "max_iter": [1000]},
                    "gradient_boosting": {"learning_rate": [0.1], "max_iter": [60], "max_leaf_nodes": [15]},
                },
            }
        },
        gate={"min_improvement": 0.0, "latency_budget_ms": 10_000.0},
        monitoring={"min_rows": 200},
    )
    settings = load_settings(params, environ={})
    environment: dict[str, str] = {}
    apply_tool_environment(settings, environment)  # the service the loop starts reads the state folder from it
    for key, value in environment.items():
        monkeypatch.setenv(key, value)

    result = run_loop(settings, report=lambda line: None)

    normal, *drifted = result.weeks
    assert normal.scenario == "none" and normal.monitor is not None and normal.monitor.trigger is None
    assert all(w.traffic.errors == 0 and w.traffic.sent > 600 for w in result.weeks)
    trigger = drifted[-1].monitor.trigger if drifted[-1].monitor else None
    assert trigger is not None and trigger.kind == "drift"
    retrained = result.retrained
    assert retrained is not None and retrained.registration.version is not None
    run = registry.client(settings).get_run(retrained.run_id)
    tags = run.data.tags
    assert tags["trigger"] == "drift" and tags["trigger_window"] == trigger.window
    named = set(tags["trigger_features"].split(", "))
    assert named & set(SHIFTED_COLUMNS["covariate_shift"]), named
    assert Path(tags["trigger_report"]).exists()
    # The retrained model learned from the weeks that were served and labelled.
    assert retrained.batches and all(b.passed for b in retrained.batches)
    # A model retrained on the drifted weeks does not lose to the champion on the next
    # drifted week: the canary promotes it (its verdicts are tests, not chance).
    assert result.canary is not None, "no canary ran"
    assert result.canary.outcome == "promoted", result.canary.history
    assert result.aliases[registry.CHAMPION] == retrained.registration.version
    assert (settings.monitoring_dir / "workspace").exists()
    # The trigger is in the audit trail, and the trail's chain holds.
    trail = audit.history(settings)
    assert any(e.event == "retrain_trigger" and e.reason == trigger.reason for e in trail)
    assert audit.verify(settings).ok

    # The project it ran in is Level 3 in every component, by the assessment's own evidence.
    assert result.training is not None and result.training.feature_service == settings.features.service_name
    at_three = assess(project)
    reached = scores(at_three)
    assert all(reached[c] >= 3 for c in COMPONENTS), (reached, failing(at_three, 3), result.aliases)
