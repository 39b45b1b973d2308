"""Level 0: the honest 'before' picture. A plain script trains and writes a model file.

pandas and scikit-learn only: the data is produced (or read from ``data.file``) in
memory, the hand-picked model (``training.model``) is fitted on the raw described
columns, the holdout metrics are printed, and the model is written to one file.
Nothing is tracked, versioned or validated; deploying the file is up to whoever runs it.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.settings import Settings
from core.synthetic import generate_week
from features import ingest
from features.engineering import FeatureColumns
from pipelines.steps import training


def model_file(settings: Settings) -> Path:
    return settings.state / "level0" / "model.pkl"


def source_data(settings: Settings) -> pd.DataFrame:
    """The training data as the lower levels see it: straight from the source, never stored."""
    if settings.data.source == "file":
        frame = ingest.read_source(settings)
    else:
        config = ingest.lender_config(settings)
        weeks = range(1, settings.data.history_weeks + 1)
        frame = pd.concat([generate_week(config, week) for week in weeks], ignore_index=True)
    return frame.sort_values(settings.schema_.timestamp, kind="stable").reset_index(drop=True)


def fingerprint(frame: pd.DataFrame) -> str:
    """A content hash of a data frame: the same rows and values give the same digest."""
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(rows.tobytes()).hexdigest()


def raw_columns(settings: Settings) -> FeatureColumns:
    """The described request fields only: no engineered features below Level 2."""
    return FeatureColumns.from_schema(settings.schema_)


@dataclass(frozen=True)
class Level0Result:
    model_path: Path
    family: str
    metrics: dict[str, float]


def train_plain(settings: Settings) -> tuple[training.TrainedModel, pd.DataFrame]:
    """Fit the hand-picked model on the source data; return it and the data it saw."""
    frame = source_data(settings)
    trained = training.train_and_evaluate(frame, settings.schema_, raw_columns(settings), settings.training)
    return trained, frame


def run(settings: Settings) -> Level0Result:
    trained, _ = train_plain(settings)
    path = model_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A bare pickle: what a Level 0 team hands over (and why loading it is a trust decision).
    path.write_bytes(pickle.dumps(trained.model))
    return Level0Result(path, trained.family, trained.metrics)
