"""Land weekly batches, then accept them into the raw store or quarantine them.

Batches arrive in ``data/landing/`` and are never edited: a batch that passes
validation moves to ``data/raw/`` (which DVC versions); one that fails moves, whole,
to ``data/quarantine/<batch>-<time>/`` beside its validation report, so nothing is
lost and a human can look at exactly what arrived.

Which batches arrive:
* synthetic source: every week of the history that the raw store lacks, then, with a
  scenario, ``scenario_weeks`` new weeks after the latest accepted one, drawn under it;
* file source: the user's file cut into weeks by its timestamp column, the weeks that
  the raw store lacks.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.contract import Schema
from core.settings import Settings
from core.synthetic import LenderConfig, generate_week

BATCH_PREFIX = "week_"


def lender_config(settings: Settings) -> LenderConfig:
    return LenderConfig.from_settings(settings)


def batch_name(start: dt.date) -> str:
    return f"{BATCH_PREFIX}{start:%Y-%m-%d}"


def batch_start(path: Path) -> dt.date:
    return dt.date.fromisoformat(path.stem.removeprefix(BATCH_PREFIX))


def accepted_batches(settings: Settings) -> list[Path]:
    """Batches in the raw store, oldest first."""
    return sorted(settings.raw_dir.glob(f"{BATCH_PREFIX}*.parquet"))


@dataclass(frozen=True)
class PlannedBatch:
    name: str
    week: int  # 1-based week of the synthetic lender; 0 for a file source
    scenario: str


def plan_synthetic(settings: Settings) -> list[PlannedBatch]:
    """The weeks that arrive in this run (see the module docstring)."""
    config = lender_config(settings)
    have = {p.stem for p in accepted_batches(settings)}
    history = [
        PlannedBatch(batch_name(_week_start(config, w)), w, "none") for w in range(1, settings.data.history_weeks + 1)
    ]
    plan = [batch for batch in history if batch.name not in have]
    if settings.data.scenario != "none":
        latest = max([settings.data.history_weeks, *(week_of(config, p) for p in accepted_batches(settings))])
        for w in range(latest + 1, latest + 1 + settings.data.scenario_weeks):
            plan.append(PlannedBatch(batch_name(_week_start(config, w)), w, settings.data.scenario))
    return plan


def _week_start(config: LenderConfig, week: int) -> dt.date:
    return config.start_date + dt.timedelta(weeks=week - 1)


def week_of(config: LenderConfig, path: Path) -> int:
    return (batch_start(path) - config.start_date).days // 7 + 1


def land_batches(settings: Settings) -> list[Path]:
    """Write the batches that arrive in this run to the landing folder; return their paths."""
    settings.landing_dir.mkdir(parents=True, exist_ok=True)
    if settings.data.source == "file":
        return _land_file(settings)
    config = lender_config(settings)
    landed = []
    for planned in plan_synthetic(settings):
        path = settings.landing_dir / f"{planned.name}.parquet"
        generate_week(config, planned.week, planned.scenario).to_parquet(path, index=False)
        landed.append(path)
    return landed


def read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise ValueError(f"{path}: only .parquet and .csv files can be ingested")


def _land_file(settings: Settings) -> list[Path]:
    source = settings.data_file
    if source is None or not source.exists():
        raise FileNotFoundError(f"data.file points at {source}, which does not exist")
    frame = read_table(source)
    column = settings.schema_.timestamp
    if column not in frame:
        raise ValueError(f"{source} has no timestamp column {column!r} (schema.timestamp)")
    stamps = pd.to_datetime(frame[column], utc=True)
    frame[column] = stamps
    monday = (stamps.dt.normalize() - pd.to_timedelta(stamps.dt.weekday, unit="D")).dt.date
    have = {p.stem for p in accepted_batches(settings)}
    landed = []
    for start, batch in frame.groupby(monday, sort=True):
        name = batch_name(start)
        if name in have:
            continue
        path = settings.landing_dir / f"{name}.parquet"
        batch.to_parquet(path, index=False)
        landed.append(path)
    return landed


def next_week(settings: Settings) -> int:
    """The synthetic lender's first week that no accepted or waiting batch covers."""
    config = lender_config(settings)
    known = [week_of(config, p) for p in [*accepted_batches(settings), *landed_batches(settings)]]
    return max([settings.data.history_weeks, *known]) + 1


def land_frame(settings: Settings, frame: pd.DataFrame, week: int) -> Path:
    """Drop a week of data into the landing folder, where the next training run validates it."""
    settings.landing_dir.mkdir(parents=True, exist_ok=True)
    path = settings.landing_dir / f"{batch_name(_week_start(lender_config(settings), week))}.parquet"
    frame.to_parquet(path, index=False)
    return path


def landed_batches(settings: Settings) -> list[Path]:
    """Everything waiting in the landing folder, including batches dropped there by hand."""
    return sorted(settings.landing_dir.glob(f"{BATCH_PREFIX}*.parquet"))


def accept(batch: Path, settings: Settings) -> Path:
    """Move a validated batch into the raw store."""
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    return Path(shutil.move(batch, settings.raw_dir / batch.name))


def quarantine(batch: Path, settings: Settings, report: dict[str, Any], docs_page: Path | None) -> Path:
    """Move a failed batch, whole, beside its validation result and Data Docs page."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    folder = settings.quarantine_dir / f"{batch.stem}-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.move(batch, folder / batch.name)
    (folder / "validation_result.json").write_text(json.dumps(report, indent=2, default=str))
    if docs_page is not None and docs_page.exists():
        shutil.copy(docs_page, folder / "validation_result.html")
    return folder


def count_rows(paths: list[Path]) -> int:
    """Rows in these parquet files, from their footers (nothing else is read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in paths)


def load_raw(settings: Settings, folder: Path | None = None) -> pd.DataFrame:
    """All accepted batches as one frame, in event order."""
    paths = sorted((folder or settings.raw_dir).glob(f"{BATCH_PREFIX}*.parquet"))
    if not paths:
        raise FileNotFoundError(f"no batches in {folder or settings.raw_dir}; run the ingest step first")
    frame = break_ties(pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True), settings.schema_)
    if frame[settings.schema_.timestamp].is_monotonic_increasing:  # weekly batches in order: no copy to sort
        return frame
    return frame.sort_values(settings.schema_.timestamp, kind="stable").reset_index(drop=True)


def break_ties(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """With ``duplicate_events: keep``, rows of one entity at one timestamp become distinct events.

    Each entity's rows are ordered by time, then by the tie-breaker; a row that is not
    later than the one before moves to a microsecond after it. The raw batches stay as
    they arrived; only what features and training read is ordered. With ``refuse``, a
    batch holding such rows never reached the raw store (the validation suite).
    """
    if schema.duplicate_events.action != "keep" or frame.empty:
        return frame
    entity, timestamp, tie = schema.entity, schema.timestamp, schema.tie_breaker
    stamps = pd.to_datetime(frame[timestamp], utc=True)
    ordered = frame.assign(**{timestamp: stamps}).sort_values([entity, timestamp, str(tie)], kind="stable")
    position = pd.to_timedelta(ordered.groupby(entity, sort=False).cumcount(), unit="us")
    # Strictly increasing per entity: the running maximum of (time - position), plus position.
    shifted = (ordered[timestamp] - position).groupby(ordered[entity], sort=False).cummax() + position
    return ordered.assign(**{timestamp: shifted}).sort_index()
