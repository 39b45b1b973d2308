"""Level 1: the Level 0 training, now tracked. Code and model versions, metrics in MLflow.

The same data and model as Level 0 (``pipelines/flows/level0.py``); the run is recorded in
MLflow with its params, holdout metrics, resolved settings, git commit, a fingerprint
of the data, and the model as a logged artifact. No registry aliases, no DVC, no
validation: deciding whether the model is good enough is still a human reading numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings
from pipelines.flows import level0
from pipelines.steps import tracking

# The run's description in the MLflow UI: the hand-written documentation of Level 1.
DESCRIPTION = (
    "Level 1 run: hand-picked {family} on the raw columns of {rows} applications "
    "(data fingerprint {digest}). Holdout ROC AUC {roc_auc:.4f}. Deploy and monitor by hand."
)


@dataclass(frozen=True)
class Level1Result:
    run_id: str
    model_uri: str
    data_fingerprint: str
    family: str
    metrics: dict[str, float]


def _data_name(settings: Settings) -> str:
    """What the script trained on: the synthetic weeks it drew, or the user's file."""
    if settings.data_file is not None:
        return settings.data_file.name
    return f"week {settings.data.history_weeks}"


def run(settings: Settings) -> Level1Result:
    trained, frame = level0.train_plain(settings)
    digest = level0.fingerprint(frame)
    note = DESCRIPTION.format(family=trained.family, rows=len(frame), digest=digest[:12], **trained.metrics)
    logged = tracking.log_training_run(
        settings,
        trained,
        data_version=f"sha256:{digest}",
        training_frame=frame,
        extra_tags={"maturity_level": "1", "mlflow.note.content": note},
        data_source=str(settings.data_file or f"synthetic lender, seed {settings.data.seed}"),
        run_name=f"train {_data_name(settings)}, level 1",
    )
    return Level1Result(logged.run_id, logged.model_uri, digest, trained.family, trained.metrics)
