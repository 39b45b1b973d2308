"""Evidently reports for one window of served predictions, and what they say.

One report per window holds data drift per feature (and the share of drifted
features), drift of the predicted probability, a data summary, and, when enough
labels have joined, classification quality. It is saved as self-contained HTML and
as JSON under the state folder, and added to an Evidently workspace that
``make monitor-ui`` opens. The verdict read back from it ranks the drifted features
by how far past their thresholds they are, so a report says what changed.

Drift decisions are Evidently's own (its per-column drift tests); this module only
chooses the tests from configuration and reads the outcome.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.files import write_text_atomically
from core.sections import DriftSettings, FeatureDrift
from core.settings import Settings
from monitoring.labels import WindowLabel
from monitoring.reference import PREDICTION
from monitoring.skew import SkewCheck

logger = logging.getLogger(__name__)

WORKSPACE_PROJECT = "credit-default monitoring"


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    method: str
    score: float
    threshold: float
    drifted: bool

    @property
    def severity(self) -> float:
        """How far past its threshold the column is: above 1 means drifted, whatever the test."""
        if self.is_p_value:  # small p-values mean drift
            return math.log(max(self.score, 1e-300)) / math.log(self.threshold)
        return self.score / self.threshold

    @property
    def is_p_value(self) -> bool:
        # Evidently names its p-value tests "... p_value" (K-S, chi-square, Z...), its distances by name.
        return "p_value" in self.method

    def __str__(self) -> str:
        return f"{self.column} ({self.method} {self.score:.3g}, threshold {self.threshold:g})"


@dataclass(frozen=True)
class Quality:
    labelled_rows: int
    roc_auc: float
    reference_roc_auc: float

    @property
    def drop(self) -> float:
        return self.reference_roc_auc - self.roc_auc


@dataclass
class WindowReport:
    window: str
    rows: int
    drift_share: float
    drifted: bool  # Evidently's dataset-level verdict at the configured share
    columns: list[ColumnDrift]
    prediction: ColumnDrift | None
    quality: Quality | None
    html: str
    json: str
    data_quality_failures: list[str] = field(default_factory=list)
    serving_skew: SkewCheck | None = None  # served history features recomputed (monitoring/skew.py)

    @property
    def drifted_columns(self) -> list[ColumnDrift]:
        """Drifted features, most severe first."""
        return sorted((c for c in self.columns if c.drifted), key=lambda c: c.severity, reverse=True)

    def as_dict(self) -> dict[str, Any]:
        summary = asdict(self)
        summary["drifted_columns"] = [str(c) for c in self.drifted_columns]
        summary["serving_skew"] = self.serving_skew.as_dict() if self.serving_skew else None
        return summary


def monitored_columns(reference: pd.DataFrame, settings: Settings) -> tuple[list[str], list[str]]:
    """The model's features as the reference holds them: the contract's categories, and numbers.

    The column mapping comes from the contract (``schema.categorical``); everything else
    the model reads is a number (the contract's numeric columns and the engineered ones).
    """
    schema = settings.schema_
    skip = {schema.label, PREDICTION, schema.entity}
    features = [c for c in reference.columns if c not in skip]
    categorical = [c for c in features if c in schema.categorical]
    return [c for c in features if c not in categorical], categorical


def build_drift_report(
    settings: Settings, reference: pd.DataFrame, current: pd.DataFrame, window: str, label: WindowLabel | None = None
) -> tuple[WindowReport, Any]:
    """Data drift, prediction drift and a data summary of a window; saved; with its verdicts.

    ``label`` names the window in the Evidently UI (title, tags, metadata).
    """
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset, DataSummaryPreset

    numeric, categorical = monitored_columns(reference, settings)
    drift = settings.monitoring.drift
    metrics: list[Any] = [
        DataDriftPreset(columns=numeric + categorical, drift_share=drift.share, **_drift_options(drift)),
        ValueDrift(column=PREDICTION, **_one_column(drift.prediction)),
        DataSummaryPreset(columns=numeric + categorical + [PREDICTION]),
    ]
    snapshot, content, html, data = _run(
        settings,
        metrics,
        reference,
        current,
        numeric,
        categorical,
        None,
        f"{window}-drift",
        _story(label, "drift", window),
    )
    return read_report(content, window, len(current), drift.share, html, data), snapshot


def build_quality_report(
    settings: Settings, reference: pd.DataFrame, labelled: pd.DataFrame, window: str, label: WindowLabel | None = None
) -> tuple[Quality, str, Any]:
    """Classification quality of a window's labelled predictions, beside the reference's."""
    from evidently.presets import ClassificationPreset

    numeric, categorical = monitored_columns(reference, settings)
    story = _story(label, "quality", window)
    target = settings.schema_.label
    snapshot, content, html, _ = _run(
        settings,
        [ClassificationPreset()],
        reference,
        labelled,
        numeric,
        categorical,
        target,
        f"{window}-quality",
        story,
    )
    quality = Quality(len(labelled), roc_auc_of(content), reference_roc_auc(reference, target))
    return quality, str(html), snapshot


def _run(
    settings: Settings,
    metrics: list[Any],
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    label: str | None,
    name: str,
    story: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, Any], Path, Path]:
    from evidently import Report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas and scipy chatter inside Evidently's calculations
        snapshot = Report(metrics, include_tests=True).run(
            current_data=dataset(current, numeric, categorical, label),
            reference_data=dataset(reference, numeric, categorical, label),
            timestamp=dt.datetime.now(dt.UTC),
            **(story or {"name": name}),
        )
        html, data = report_paths(settings, name)
        # Atomic: the trigger names a report before it is written, so a reader sees all or nothing.
        write_text_atomically(html, snapshot.get_html_str(as_iframe=False))
    content = snapshot.dict()
    write_text_atomically(data, json.dumps(content, indent=1, default=str))
    return snapshot, content, html, data


def report_paths(settings: Settings, name: str) -> tuple[Path, Path]:
    """Where the report ``name`` is saved: self-contained HTML and its JSON."""
    folder = settings.monitoring_dir / "reports"
    return folder / f"{name}.html", folder / f"{name}.json"


def dataset(frame: pd.DataFrame, numeric: list[str], categorical: list[str], label: str | None) -> Any:
    """A window as an Evidently ``Dataset``: its features, the probability, and the label if given."""
    from evidently import BinaryClassification, DataDefinition, Dataset

    definition = DataDefinition(
        numerical_columns=[*numeric, PREDICTION],
        categorical_columns=categorical,
        classification=[BinaryClassification(target=label, prediction_probas=PREDICTION)] if label else None,
    )
    columns = [*numeric, *categorical, PREDICTION, *([label] if label else [])]
    return Dataset.from_pandas(frame[columns].reset_index(drop=True), data_definition=definition)


def _story(label: WindowLabel | None, kind: str, window: str) -> dict[str, Any] | None:
    """The snapshot's name, tags and metadata from the window's label (None: named by its time range)."""
    if label is None:
        return None
    return {"name": label.title(kind), "tags": label.tags(kind), "metadata": label.metadata(window)}


def _drift_options(drift: DriftSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "num_method": drift.num_method,
        "cat_method": drift.cat_method,
        "threshold": drift.threshold,
    }
    methods = {c: spec.method for c, spec in drift.per_feature.items() if spec.method}
    thresholds = {c: spec.threshold for c, spec in drift.per_feature.items() if spec.threshold}
    if methods:
        options["per_column_method"] = methods
    if thresholds:
        options["per_column_threshold"] = thresholds
    return {k: v for k, v in options.items() if v is not None}


def _one_column(spec: FeatureDrift) -> dict[str, Any]:
    return {k: v for k, v in (("method", spec.method), ("threshold", spec.threshold)) if v is not None}


def read_report(content: dict[str, Any], window: str, rows: int, share: float, html: Path, data: Path) -> WindowReport:
    """The drift verdicts of a saved report: Evidently's per-column tests, with their scores."""
    scores: dict[str, tuple[str, float, float]] = {}
    drift_share = 0.0
    for metric in content["metrics"]:
        config = metric.get("config", {})
        kind = str(config.get("type", ""))
        if kind.endswith(":ValueDrift"):
            scores[config["column"]] = (str(config.get("method")), float(metric["value"]), float(config["threshold"]))
        elif kind.endswith(":DriftedColumnsCount"):
            drift_share = float(metric["value"]["share"])
    verdicts: dict[str, bool] = {}
    for test in content.get("tests", []):
        if test.get("id") == "drift":
            column = test["metric_config"]["params"]["column"]
            verdicts[column] = str(test["status"]).endswith("FAIL")
    columns = [ColumnDrift(c, m, s, t, verdicts.get(c, False)) for c, (m, s, t) in scores.items() if c != PREDICTION]
    prediction = scores.get(PREDICTION)
    return WindowReport(
        window=window,
        rows=rows,
        drift_share=drift_share,
        drifted=drift_share >= share,
        columns=columns,
        prediction=ColumnDrift(PREDICTION, *prediction, verdicts.get(PREDICTION, False)) if prediction else None,
        quality=None,
        html=str(html),
        json=str(data),
    )


def roc_auc_of(content: dict[str, Any]) -> float:
    for metric in content["metrics"]:
        if str(metric.get("config", {}).get("type", "")).endswith(":RocAuc"):
            return float(metric["value"])
    raise ValueError("the report has no ROC AUC although labels were given")


def reference_roc_auc(reference: pd.DataFrame, label: str) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(reference[label], reference[PREDICTION]))


def add_to_workspace(settings: Settings, snapshot: Any, label: WindowLabel | None = None) -> None:
    """Keep the snapshot in the Evidently workspace behind ``make monitor-ui``.

    The dashboard gets a panel per model version the first time one serves a window, so
    its titles say which model each stretch of traffic was judged for.
    """
    from evidently.ui.workspace import Workspace

    workspace = Workspace(str(settings.monitoring_dir / "workspace"))
    found = workspace.search_project(WORKSPACE_PROJECT)
    project = found[0] if found else _new_project(workspace)
    workspace.add_run(project.id, snapshot)
    if label is not None:
        _version_panel(project, label.model_version)


def _version_panel(project: Any, version: str) -> None:
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import DashboardPanelPlot

    title = f"Share of drifted features, windows served by v{version}"
    if any(panel.title == title for panel in project.dashboard.model().panels):
        return
    project.dashboard.add_panel(
        DashboardPanelPlot(
            title=title,
            subtitle="one point per window; each report's tags name its window, week and scenario",
            size="half",
            values=[
                PanelMetric(
                    legend=f"v{version}",
                    tags=[f"model v{version}"],
                    metric="DriftedColumnsCount",
                    metric_labels={"value_type": "share"},
                )
            ],
            plot_params={"plot_type": "line"},
        )
    )


def _new_project(workspace: Any) -> Any:
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import DashboardPanelPlot

    project = workspace.create_project(WORKSPACE_PROJECT, description="Windows of the credit-default service's traffic")
    panels = [
        ("Share of drifted features", "DriftedColumnsCount", {"value_type": "share"}, "line"),
        ("Predictions judged per window", "RowCount", {}, "bar"),
        ("ROC AUC once labels join", "RocAuc", {}, "line"),
    ]
    for title, metric, labels, kind in panels:
        project.dashboard.add_panel(
            DashboardPanelPlot(
                title=title,
                size="half",
                values=[PanelMetric(legend=title, metric=metric, metric_labels=labels)],
                plot_params={"plot_type": kind},
            )
        )
    return project
