"""Level 2's basic drift alerting: the newest batch against the champion's reference.

An alert only: the maturity model's Level 2 has "automated alerting, basic drift
detection" and leaves the reaction to people, so nothing retrains here (Level 3's
monitor does that, on served traffic: pipelines/monitor.py). The report is the same
Evidently report the monitor writes (monitoring/reports.py), saved under the state
folder; a drifted batch also leaves an alert file beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core import registry
from core.settings import Settings
from features import ingest
from features.engineering import features_of, join_history
from features.store import history_table_path
from monitoring import reports
from monitoring.reference import PREDICTION, reference_for
from serving.models import load_alias


@dataclass(frozen=True)
class DriftAlert:
    window: str
    rows: int
    drifted: bool
    share: float
    ranked: list[str]  # drifted features, most severe first
    html: str
    alert_file: str | None


def newest_batch_rows(settings: Settings, batch: str) -> pd.DataFrame:
    """The batch's applications with the features the model reads (joined as at Level 2)."""
    raw = ingest.load_raw(settings)
    start = pd.Timestamp(ingest.batch_start(Path(batch)), tz="UTC")
    stamps = pd.to_datetime(raw[settings.schema_.timestamp], utc=True)
    table = pd.read_parquet(history_table_path(settings))
    joined = join_history(raw, table, settings.schema_, settings.features)
    return joined[(stamps >= start) & (stamps < start + pd.Timedelta(weeks=1))].reset_index(drop=True)


def check_batch(settings: Settings, batch: str) -> DriftAlert | None:
    """Compare ``batch`` with the champion's reference; None when there is no champion to compare with."""
    champion = load_alias(settings, registry.CHAMPION)
    if champion is None:
        return None
    rows = newest_batch_rows(settings, batch)
    current = features_of(rows, champion.columns).assign(
        **{PREDICTION: champion.model.predict_proba(features_of(rows, champion.columns))[:, 1]}
    )
    reference = reference_for(settings, champion.version)
    report, _ = reports.build_drift_report(settings, reference, current, f"level2-{batch}")
    ranked = [str(c) for c in report.drifted_columns]
    alert_file = None
    if report.drifted:
        folder = settings.monitoring_dir / "alerts"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"level2-{batch}.json"
        alert = {"champion": champion.version, "batch": batch, "action": "none (Level 2: a person decides)"}
        path.write_text(json.dumps({**alert, **report.as_dict()}, indent=1, default=str))
        alert_file = str(path)
    return DriftAlert(report.window, report.rows, report.drifted, report.drift_share, ranked, report.html, alert_file)
