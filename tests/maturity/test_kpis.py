"""The case study's KPIs, measured from a real audit trail and a real (SQLite) MLflow registry."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from core import registry
from core.settings import Settings
from governance import audit
from maturity import kpis

pytestmark = pytest.mark.e2e

MINUTE_MS = 60_000


def history(settings: Settings) -> dict[str, str]:
    """Three versions: v1 trained by hand, v2 retrained on drift and promoted, v3 rolled back; v4 in canary."""
    (settings.state / "mlflow").mkdir(parents=True, exist_ok=True)
    client = registry.client(settings)
    experiment = client.create_experiment(settings.mlflow.experiment, artifact_location=str(settings.state / "a"))
    now = int(time.time() * 1000)
    week_ago = now - 7 * 24 * 60 * MINUTE_MS
    runs = {}
    for name, start in (("v1", now - 5 * MINUTE_MS), ("v2", now), ("v3", now), ("old", week_ago)):
        runs[name] = client.create_run(experiment, start_time=start).info.run_id
    client.create_run(experiment, start_time=now, tags={"mlflow.parentRunId": runs["v2"]})  # a candidate
    client.create_registered_model(settings.mlflow.registered_model)
    for version in ("1", "2", "3", "4"):
        run = runs.get(f"v{version}", runs["v3"])
        client.create_model_version(settings.mlflow.registered_model, str(settings.state / "m"), run_id=run)

    def record(event: str, version: str, **details: object) -> None:
        audit.record(settings, event, actor="controller", version=version, reason=event, details=details)

    record("registration", "1", run_id=runs["v1"])
    record("promotion", "1", alias="champion", previous=None)
    record("retrain_trigger", "1", kind="drift")
    record("registration", "2", run_id=runs["v2"])
    record("promotion", "2", alias="challenger")
    record("promotion", "2", alias="champion", previous="1")
    record("registration", "3", run_id=runs["v3"])
    record("promotion", "3", alias="challenger")
    record("rollback", "3")
    registry.set_alias(settings, registry.CHAMPION, "2")
    registry.set_alias(settings, registry.CHALLENGER, "4")
    return runs


def test_the_kpis_come_from_the_trail_and_the_registry(settings: Settings, tmp_path: Path) -> None:
    history(settings)
    measured = kpis.measure(settings)
    assert not measured.trail_problems
    first, second = measured.promotions
    assert (first.version, first.from_trigger, first.after_canary) == ("1", False, False)
    assert (second.version, second.from_trigger, second.after_canary) == ("2", True, True)
    # v1: from the start of its training run (five minutes before); v2: from the retrain trigger.
    assert first.time_to_champion is not None and dt.timedelta(minutes=4) < first.time_to_champion
    assert second.time_to_champion is not None and second.time_to_champion < dt.timedelta(minutes=1)
    # Canaries: v2 promoted, v3 rolled back, v4 still running.
    assert (measured.canaries_promoted, measured.canaries_started) == (1, 3)
    assert measured.success_rate == pytest.approx(1 / 3) and len(measured.rollbacks) == 1
    assert measured.models_in_production == 1 and measured.serving == {"champion": "2", "challenger": "4"}
    latest = max(measured.weeks)
    assert measured.weeks[latest] == (3, 1) and sum(sum(v) for v in measured.weeks.values()) == 5

    shown = dict((name, value) for name, value, _ in kpis.rows(measured))
    assert shown["deployment success rate"].startswith("1/3 (33%)")
    assert shown["rollbacks"] == "1 (controller: 1)" and shown["models in production"].startswith("1 (serving:")
    chart = kpis.chart(measured, tmp_path / "kpis.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = kpis.markdown(measured, chart)
    assert "| deployment success rate | 1/3 (33%)" in text and "99.9%" in text and "![KPIs](kpis.png)" in text

    # An edited trail still yields numbers, said to rest on a trail that does not verify.
    log = audit.audit_path(settings)
    log.write_text(log.read_text().replace('"reason": "rollback"', '"reason": "nothing happened"'))
    measured = kpis.measure(settings)
    assert measured.trail_problems and "does not verify" in kpis.markdown(measured, None)
