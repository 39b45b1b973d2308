"""A demo's deliberately broken version does not cap the assessment; an ungated real one does, and says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import registry
from core.settings import Settings
from maturity.probes import PROBES
from maturity.target import Target

pytestmark = pytest.mark.e2e


def _version(settings: Settings, tags: dict[str, str]) -> str:
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    experiment = mlflow.set_experiment(settings.mlflow.experiment)
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.set_tag("gate_verdict", tags.get("gate_verdict", "none"))
    client = registry.client(settings)
    name = settings.mlflow.registered_model
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    version = client.create_model_version(name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    for key, value in tags.items():
        client.set_model_version_tag(name, version.version, key, value)
    return str(version.version)


def test_a_demo_version_is_left_out_and_an_ungated_one_is_named(settings: Settings, workspace: Path) -> None:
    gated = _version(settings, {"gate_verdict": "passed"})
    demo = _version(settings, {registry.DEMO_TAG: "canary demo: a deliberately broken model"})

    found = PROBES["gate_verdicts"].run(Target.open(workspace))
    assert found.status == "pass", found.detail
    assert f"left out: v{demo} (canary demo" in found.detail and gated == "1"

    ungated = _version(settings, {})
    refused = PROBES["gate_verdicts"].run(Target.open(workspace))
    assert refused.status == "fail"
    assert f"v{ungated} registered without a passed gate" in refused.detail and "demo" in refused.detail
