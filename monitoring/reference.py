"""The reference window a model is monitored against: its own holdout, with its predictions.

Training logs it beside the model (``monitoring/reference.parquet`` in the run's
artifacts), so each registry version carries the data it was last validated on. The
monitor fetches it by version once and keeps a copy under the state folder.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core import registry
from core.settings import Settings

PREDICTION = "probability"  # the predicted probability of default, named as in the prediction log
REFERENCE_FOLDER = "monitoring"  # artifact folder of a training run
REFERENCE_FILE = "reference.parquet"


class MissingReference(RuntimeError):
    """The model version has no reference window (it was logged before monitoring existed)."""


def reference_for(settings: Settings, version: str) -> pd.DataFrame:
    """The reference window of registry ``version``; downloaded once, then read from the state folder."""
    cached = settings.monitoring_dir / "reference" / f"v{version}.parquet"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        _download(settings, version, cached)
    return pd.read_parquet(cached)


def _download(settings: Settings, version: str, target: Path) -> None:
    from mlflow.exceptions import MlflowException

    client = registry.client(settings)
    run_id = client.get_model_version(settings.mlflow.registered_model, version).run_id
    if run_id is None:
        raise MissingReference(f"version {version} names no training run")
    try:
        path = client.download_artifacts(run_id, f"{REFERENCE_FOLDER}/{REFERENCE_FILE}", str(target.parent))
    except (MlflowException, OSError) as error:
        raise MissingReference(
            f"version {version} (run {run_id}) has no {REFERENCE_FOLDER}/{REFERENCE_FILE}; retrain it to monitor it"
        ) from error
    Path(path).replace(target)
