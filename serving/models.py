"""The models behind the registry's aliases, loaded for serving: the fitted pipeline, its columns, a fast scorer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sklearn

from core import registry
from core.settings import Settings
from features.engineering import FeatureColumns, features_of
from serving.scorer import DirectScorer

LINEAGE_TAGS = ("data_version", "features_version")  # set by the training pipeline on each registered version


@dataclass(frozen=True)
class LoadedModel:
    version: str
    model: Any
    columns: FeatureColumns
    direct: DirectScorer | None = None  # our pipelines' fast path; None: the pipeline's own predict_proba
    # The data it learned from, from its registry tags: every logged answer carries it, so one
    # served decision leads back to the exact DVC versions of data/raw and data/features.
    lineage: dict[str, str | None] = field(default_factory=dict)

    def risk(self, frame: pd.DataFrame) -> float:
        """The probability of the positive class for the first row of ``frame`` (one request)."""
        return float(self.risks(frame.iloc[:1] if len(frame) > 1 else frame)[0])

    def risks(self, frame: pd.DataFrame) -> np.ndarray:
        """The probability of the positive class for every row of ``frame`` (a batch of requests)."""
        # assume_finite skips scikit-learn's re-check of every value: the request schema
        # already refuses infinities, and missing values still go to the imputers.
        with sklearn.config_context(assume_finite=True):
            if self.direct is not None:
                return self.direct.scores(frame)
            features = features_of(frame, self.columns)
            return np.asarray(self.model.predict_proba(features))[:, 1]


def load_version(settings: Settings, version: str) -> LoadedModel:
    """Registry ``version`` of the registered model, ready to score."""
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    uri = f"models:/{settings.mlflow.registered_model}/{version}"
    model = mlflow.sklearn.load_model(uri)
    columns = FeatureColumns.from_signature(uri)
    tags = registry.version_tags(settings, str(version))
    lineage = {key: tags.get(key) for key in LINEAGE_TAGS}
    return LoadedModel(str(version), model, columns, DirectScorer.for_model(model, columns), lineage)


def load_alias(settings: Settings, alias: str) -> LoadedModel | None:
    """The registry version behind ``alias``, or None when the alias is not set."""
    version = registry.alias_version(settings, alias)
    return None if version is None else load_version(settings, version)
