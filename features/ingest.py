"""Land weekly batches, then accept them into the raw store or quarantine them.

Batches arrive in ``data/landing/`` and are never edited: a batch that passes
validation moves to ``data/raw/`` (which DVC versions); one that fails moves, whole,
to ``data/quarantine/<batch>-<time>/`` beside its validation report, so nothing is
lost and a human can look at exactly what arrived.

Which batches arrive:
* synthetic source: every week of the history that the raw store lacks, then, with a
  scenario, ``scenario_weeks`` new weeks after the latest accepted one, drawn under it;
* file source: the user's file cut into weeks by its timestamp column, the weeks that
  the raw store lacks, except the latest ``replay_weeks``: those are held back, and
  ``make pipeline`` replays them as live traffic (``traffic_weeks``), so they arrive as
  served-and-labelled batches, like the synthetic lender's new weeks. With a scenario,
  the next ``scenario_weeks`` held-back weeks land at once, transformed by it
  (``core/scenarios.py``).

A file is conformed to the contract as it is read (``read_source``): a file without an
entity column gets row ids (``data.row_id``), one without a time column gets arrival
times in file order (``data.arrival``), the entity and the categories become text, and
a label given as words (``schema.positive_label``) becomes 0/1.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import scenarios
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


def read_source(settings: Settings) -> pd.DataFrame:
    """The user's file (``data.file``), conformed to the contract (see the module docstring)."""
    source = settings.data_file
    if source is None or not source.exists():
        raise FileNotFoundError(f"data.file points at {source}, which does not exist")
    frame = read_table(source)
    schema, data = settings.schema_, settings.data
    if data.row_id:
        if schema.entity in frame:
            raise ValueError(f"data.row_id is true, but {source} already has a column {schema.entity!r}")
        frame.insert(0, schema.entity, [f"row-{i}" for i in range(len(frame))])
    if data.arrival is not None:
        if schema.timestamp in frame:
            raise ValueError(f"data.arrival is set, but {source} already has a column {schema.timestamp!r}")
        per_week, position = data.arrival.rows_per_week, np.arange(len(frame))
        offset = pd.to_timedelta(
            position // per_week * 7 * 86400 + (position % per_week) * (7 * 86400 // per_week), "s"
        )
        frame[schema.timestamp] = pd.Timestamp(data.arrival.start, tz="UTC") + offset
    for column, key in ((schema.entity, "schema.entity"), (schema.timestamp, "schema.timestamp")):
        if column not in frame:
            hint = "data.row_id: true" if key == "schema.entity" else "data.arrival"
            raise ValueError(f"{source} has no column {column!r} ({key}); name the right one, or set {hint}")
    frame[schema.timestamp] = pd.to_datetime(frame[schema.timestamp], utc=True)
    frame[schema.entity] = frame[schema.entity].astype("string").astype(object)
    if schema.positive_label is not None and schema.label in frame:
        label = frame[schema.label]
        frame[schema.label] = np.where(label.isna(), np.nan, label.astype(str) == str(schema.positive_label))
        if not frame[schema.label].isna().any():
            frame[schema.label] = frame[schema.label].astype("int64")
    for column in schema.categorical:
        if column in frame and not pd.api.types.is_string_dtype(frame[column]):
            values = frame[column]
            frame[column] = values.astype(str).where(values.notna(), None)
    return frame.sort_values(schema.timestamp, kind="stable").reset_index(drop=True)


def source_weeks(settings: Settings) -> dict[dt.date, pd.DataFrame]:
    """The user's file cut into weeks (Monday to Sunday, UTC), oldest first."""
    frame = read_source(settings)
    stamps = frame[settings.schema_.timestamp]
    monday = (stamps.dt.normalize() - pd.to_timedelta(stamps.dt.weekday, unit="D")).dt.date
    return {start: batch.reset_index(drop=True) for start, batch in frame.groupby(monday, sort=True)}


def held_back(settings: Settings, weeks: list[dt.date]) -> list[dt.date]:
    """The latest ``replay_weeks`` of the file: never trained on before they are replayed."""
    count = settings.replay_weeks
    if count and count >= len(weeks):
        raise ValueError(
            f"{settings.data_file} has {len(weeks)} weeks; holding back {count} for replay "
            "(data.replay_weeks, or monitoring.simulation.normal_weeks + drift_weeks + 1) leaves none to train on"
        )
    return weeks[len(weeks) - count :] if count else []


def _land_file(settings: Settings) -> list[Path]:
    weeks = source_weeks(settings)
    replay = held_back(settings, list(weeks))
    have = {p.stem for p in [*accepted_batches(settings), *landed_batches(settings)]}
    landed = []
    for start, batch in weeks.items():
        if batch_name(start) in have or start in replay:
            continue
        landed.append(_land(settings, batch, start))
    if settings.data.scenario != "none":
        upcoming = [w for w in file_traffic_weeks(weeks, replay) if batch_name(w.start) not in have]
        for week in upcoming[: settings.data.scenario_weeks]:
            frame = file_week(settings, weeks, week, settings.data.scenario)
            landed.append(_land(settings, frame, week.start))
    return landed


def _land(settings: Settings, frame: pd.DataFrame, start: dt.date) -> Path:
    settings.landing_dir.mkdir(parents=True, exist_ok=True)
    path = settings.landing_dir / f"{batch_name(start)}.parquet"
    frame.to_parquet(path, index=False)
    return path


@dataclass(frozen=True)
class Week:
    """A week of traffic: the synthetic lender's 1-based week, or a held-back week of the file."""

    number: int
    start: dt.date

    @property
    def name(self) -> str:
        return batch_name(self.start)


def file_traffic_weeks(weeks: dict[dt.date, pd.DataFrame], replay: list[dt.date]) -> list[Week]:
    numbers = {start: i for i, start in enumerate(weeks, start=1)}
    return [Week(numbers[start], start) for start in replay]


def traffic_weeks(settings: Settings, count: int) -> list[Week]:
    """The next ``count`` weeks of traffic: new synthetic weeks, or the file's held-back weeks not yet replayed."""
    if settings.data.source == "synthetic":
        config, first = lender_config(settings), next_week(settings)
        return [Week(w, _week_start(config, w)) for w in range(first, first + count)]
    weeks = source_weeks(settings)
    seen = {p.stem for p in [*accepted_batches(settings), *landed_batches(settings)]}
    left = [w for w in file_traffic_weeks(weeks, held_back(settings, list(weeks))) if w.name not in seen]
    if len(left) < count:
        raise ValueError(
            f"{len(left)} held-back week(s) of {settings.data_file} are left to replay, and this needs {count}: "
            "`make clean` (or a new state and data folder) replays them again; data.replay_weeks holds back more"
        )
    return left[:count]


def file_week(settings: Settings, weeks: dict[dt.date, pd.DataFrame], week: Week, scenario: str) -> pd.DataFrame:
    """One week of the file as it arrives under ``scenario`` (``core/scenarios.py``)."""
    return scenarios.transform(
        weeks[week.start],
        settings.schema_,
        scenario,
        strength=settings.data.scenario_strength,
        seed=settings.data.seed * 1000 + week.number,
        columns=settings.monitoring.simulation.columns,
    )


def week_events(settings: Settings, week: Week, scenario: str) -> pd.DataFrame:
    """The events of ``week`` under ``scenario``, with their (not yet delivered) labels."""
    if settings.data.source == "synthetic":
        return generate_week(lender_config(settings), week.number, scenario)
    return file_week(settings, source_weeks(settings), week, scenario)


def next_week(settings: Settings) -> int:
    """The synthetic lender's first week that no accepted or waiting batch covers."""
    config = lender_config(settings)
    known = [week_of(config, p) for p in [*accepted_batches(settings), *landed_batches(settings)]]
    return max([settings.data.history_weeks, *known]) + 1


def land_frame(settings: Settings, frame: pd.DataFrame, week: Week) -> Path:
    """Drop a week of data into the landing folder, where the next training run validates it."""
    return _land(settings, frame, week.start)


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
