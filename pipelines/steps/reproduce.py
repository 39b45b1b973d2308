"""Reproduce a registered model version from its lineage, and compare the metrics.

From the version's training run: the data version (DVC) and the settings it was
trained with. The raw data is checked out at that version from the DVC remote into a
temporary workspace; features are engineered again, served through a temporary Feast
store, joined point in time, and the recorded model is refitted with the recorded
seed. The holdout metrics must match the registered ones within ``tolerance``.

Reproducing reads shared state (the registry's run, the DVC remote) and writes none:
whatever profile trained the version, the workspace keeps its Feast registry, online
store and every other store in its own state folder (``workspace_settings``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow

from core import registry
from core.sections import FeatureSettings
from core.settings import Settings
from features import engineering, ingest, store, versioning
from pipelines.steps import training


@dataclass(frozen=True)
class Reproduction:
    version: str
    run_id: str
    data_version: str
    recorded: dict[str, float]
    reproduced: dict[str, float]
    tolerance: float

    @property
    def differences(self) -> dict[str, tuple[float, float]]:
        return {
            name: (self.recorded[name], value)
            for name, value in self.reproduced.items()
            if name in self.recorded and abs(value - self.recorded[name]) > self.tolerance
        }

    @property
    def matches(self) -> bool:
        return not self.differences


def workspace_settings(recorded: dict[str, Any], workspace: Path) -> Settings:
    """The recorded settings, rooted in ``workspace``, with every store local to it.

    A version trained under the team profile records the team's store configuration
    (Feast's SQL registry and Redis, the servers' endpoints). Applied as recorded, the
    temporary definitions would overwrite the shared registry, pointing its source at a
    folder about to be deleted. So the workspace is the local profile's: Feast on SQLite
    files with the file offline store, no tracking server, Prefect, DVC remote or shared
    loop store, all under ``workspace/.state``. What is reproduced (data, features, model)
    is unchanged.
    """
    local = FeatureSettings()
    features = dict(recorded.get("features", {}))
    # Versions trained before the top-level `project` recorded the Feast project as features.project.
    legacy = features.pop("project", None)
    return Settings.model_validate(
        {
            **recorded,
            "project": recorded.get("project") or legacy,
            "root": str(workspace),
            "params_file": str(workspace / "params.yaml"),
            "profile": "local",
            "state_dir": ".state",
            "loop_store": None,
            "data": {**recorded["data"], "dir": "data", "file": None},
            "features": {**features, "store_config": local.store_config},
            "mlflow": {**recorded.get("mlflow", {}), "tracking_uri": None},
            "prefect": {**recorded.get("prefect", {}), "api_url": None, "dask_address": None},
            "dvc": {**recorded.get("dvc", {}), "remote": None},
        }
    )


def reproduce(settings: Settings, version: str, tolerance: float = 1e-6) -> Reproduction:
    """Retrain registered ``version`` from its recorded data and settings; compare its metrics."""
    found = registry.client(settings).get_model_version(settings.mlflow.registered_model, version)
    run = registry.client(settings).get_run(found.run_id)
    mlflow.set_tracking_uri(settings.tracking_uri)
    recorded_settings = mlflow.artifacts.load_dict(f"runs:/{found.run_id}/settings.json")
    chosen = mlflow.artifacts.load_dict(f"runs:/{found.run_id}/model_params.json")
    data_version = run.data.tags["data_version"]

    with tempfile.TemporaryDirectory(prefix="reproduce-") as folder:
        workspace = Path(folder)
        then = workspace_settings(recorded_settings, workspace)
        versioning.restore_version(settings, data_version, then.raw_dir)
        raw = ingest.load_raw(then)
        table = engineering.entity_history(raw, then.schema_, then.features)
        store.history_table_path(then).parent.mkdir(parents=True)
        table.to_parquet(store.history_table_path(then), index=False)
        if then.level >= 3:
            frame = store.training_frame(store.apply_definitions(then), then, raw)
        else:  # trained without a feature store (maturity Level 2): the same join, done directly
            frame = engineering.join_history(raw, table, then.schema_, then.features)
        split = training.time_split(frame, then.schema_, then.training.holdout_weeks)
        columns = store.model_feature_columns(then)
        trained = training.fit_and_score(
            split, then.schema_, columns, chosen["family"], chosen["params"], then.training
        )

    recorded = {k: v for k, v in run.data.metrics.items() if k in trained.metrics}
    return Reproduction(version, found.run_id, data_version, recorded, trained.metrics, tolerance)


def describe(result: Reproduction) -> str:
    lines = [f"version {result.version} (run {result.run_id}, data {result.data_version})"]
    for name in sorted(result.reproduced):
        if name in result.recorded:
            lines.append(
                f"  {name:18s} registered {result.recorded[name]:.6f}  reproduced {result.reproduced[name]:.6f}"
            )
    lines.append(
        "reproduced: metrics match"
        if result.matches
        else f"MISMATCH beyond {result.tolerance}: {json.dumps(result.differences)}"
    )
    return "\n".join(lines)
