"""Explanations: global feature importance per version, and fast per-prediction contributions.

* Global: scikit-learn's ``permutation_importance`` on the whole pipeline (so on the
  columns a request carries), scored by ROC AUC on a sample of the holdout, plotted to
  a PNG with matplotlib's Agg backend.
* Per prediction: contributions in log-odds on the pipeline's transformed features,
  summed back to the input column they came from (a one-hot group becomes its
  category). A linear model's contribution is coefficient x (value - baseline), the
  baseline being the training mean for scaled numbers (0 after scaling) and the
  average over a column's categories for one-hot groups. A tree model's comes from
  ``shap.TreeExplainer`` on the final estimator (exact, path-dependent; about 2 ms a
  row). Either way the contributions plus the base value give the model's log-odds.
  Passing the whole pipeline to shap would fall into its exact explainer (minutes).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from features.engineering import FeatureColumns, features_of


@dataclass(frozen=True)
class Importance:
    feature: str
    mean: float
    std: float


def global_importance(
    model: Any, columns: FeatureColumns, holdout: pd.DataFrame, label: str, seed: int, rows: int = 800, repeats: int = 4
) -> list[Importance]:
    """Drop in holdout ROC AUC when each input column is shuffled, largest first.

    One native thread: gradient boosting's OpenMP threads, on a small shared machine,
    made this seven times slower (12 s instead of under 2 s, measured).
    """
    from threadpoolctl import threadpool_limits

    sample = holdout.sample(min(rows, len(holdout)), random_state=seed)
    with threadpool_limits(1):
        result = permutation_importance(
            model, features_of(sample, columns), sample[label], scoring="roc_auc", n_repeats=repeats, random_state=seed
        )
    found = [
        Importance(f, float(m), float(s))
        for f, m, s in zip(columns.all, result.importances_mean, result.importances_std, strict=True)
    ]
    return sorted(found, key=lambda i: i.mean, reverse=True)


def importance_png(importance: list[Importance], title: str) -> bytes:
    """A horizontal bar chart of the importances, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none wanted
    from matplotlib import pyplot as plt

    shown = importance[:15][::-1]
    figure, axes = plt.subplots(figsize=(7, 0.35 * len(shown) + 1.2))
    axes.barh([i.feature for i in shown], [i.mean for i in shown], xerr=[i.std for i in shown], color="#3b6ea5")
    axes.set_xlabel("drop in ROC AUC when the column is shuffled")
    axes.set_title(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: float | str | None
    contribution: float  # log-odds of default this feature adds, relative to the baseline


@dataclass(frozen=True)
class LocalExplanation:
    method: str
    base_value: float  # the baseline's log-odds
    contributions: list[Contribution]  # every input column, largest absolute contribution first

    def top(self, k: int) -> list[Contribution]:
        return self.contributions[:k]


def _source_of_outputs(preprocess: Any) -> tuple[list[str], np.ndarray]:
    """For each transformed column, the input column it came from; and each one's baseline."""
    sources: list[str] = []
    baselines: list[float] = []
    for name, transformer, inputs in preprocess.transformers_:
        if name == "remainder" or transformer == "drop":
            continue
        encoder = getattr(transformer, "named_steps", {}).get("encode")
        if encoder is None:  # numbers: one output each, centred by the scaler
            sources += list(inputs)
            baselines += [0.0] * len(inputs)
            continue
        for column, categories in zip(inputs, encoder.categories_, strict=True):
            sources += [column] * len(categories)
            baselines += [1.0 / len(categories)] * len(categories)
    return sources, np.asarray(baselines)


class LocalExplainer:
    """Per-prediction contributions for one fitted pipeline (preprocess + classifier)."""

    def __init__(self, model: Any, columns: FeatureColumns) -> None:
        self.model, self.columns = model, columns
        self.preprocess = model.named_steps["preprocess"]
        self.classifier = model.named_steps["classifier"]
        self.sources, self.baselines = _source_of_outputs(self.preprocess)
        self._tree: Any = None
        if hasattr(self.classifier, "coef_"):
            self.method = "linear: coefficient x (value - baseline), log-odds"
        else:
            import shap  # imported only for tree models: it takes about 2 s

            self._tree = shap.TreeExplainer(self.classifier)
            self.method = "tree: shap.TreeExplainer on the final estimator, log-odds"

    def explain(self, frame: pd.DataFrame) -> LocalExplanation:
        """Explain the first row of ``frame`` (a request after feature look-up)."""
        inputs = features_of(frame.iloc[[0]], self.columns)
        transformed = np.asarray(self.preprocess.transform(inputs), dtype=float)[0]
        if self._tree is None:
            coef = np.asarray(self.classifier.coef_)[0]
            parts = coef * (transformed - self.baselines)
            base = float(np.asarray(self.classifier.intercept_)[0] + coef @ self.baselines)
        else:
            parts = np.asarray(self._tree.shap_values(transformed[np.newaxis, :]))[0]
            base = float(np.ravel(self._tree.expected_value)[0])
        by_feature: dict[str, float] = {}
        for source, part in zip(self.sources, parts, strict=True):
            by_feature[source] = by_feature.get(source, 0.0) + float(part)
        row = inputs.iloc[0]
        contributions = [
            Contribution(feature, _plain(row[feature]), round(value, 6))
            for feature, value in sorted(by_feature.items(), key=lambda item: abs(item[1]), reverse=True)
        ]
        return LocalExplanation(self.method, round(base, 6), contributions)


def _plain(value: Any) -> float | str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (int, float, np.number)):
        return float(value)
    return str(value)
