"""What the trigger decides from: Evidently's drift tests and its ROC AUC, and nothing else.

The trigger needs, per feature, a method, a score, a threshold and a verdict, the share
of drifted features, and the same for the predicted probability. Evidently computes
those with its stat-test registry: ``DataDriftOptions`` resolves each column's method
and threshold from the configuration, ``get_stattest`` picks the default test by column
type and reference size when none is configured, and the test returns score and
verdict. Its ``DataDriftPreset`` and ``ValueDrift`` call exactly these functions, then
go on to bin every distribution and build plotly figures for the HTML report; that work
is ~95% of a report's cost and none of it changes a verdict. So the decision calls the
tests alone (tens of milliseconds for 2,000 rows x 24 features), and the full report is
written afterwards, off the critical path (``monitoring/report_queue.py``); a test holds
the two to the same verdicts, column by column.

Quality is decided the same way: Evidently's ``RocAuc`` metric alone, without the
classification preset's curves and tables, which the full quality report renders later.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.sections import DriftSettings, FeatureDrift
from core.settings import Settings
from monitoring.reference import PREDICTION
from monitoring.reports import (
    ColumnDrift,
    Quality,
    WindowReport,
    dataset,
    monitored_columns,
    reference_roc_auc,
    report_paths,
    roc_auc_of,
)


def judge(settings: Settings, reference: pd.DataFrame, current: pd.DataFrame, window: str) -> WindowReport:
    """The window's drift verdicts, per feature and overall, as its full report will show them."""
    from evidently.legacy.options.data_drift import DataDriftOptions

    numeric, categorical = monitored_columns(reference, settings)
    drift = settings.monitoring.drift
    features = DataDriftOptions(**_preset_options(drift))
    columns = [
        _column_drift(reference, current, c, kind, features)
        for kind, names in (("num", numeric), ("cat", categorical))
        for c in names
    ]
    prediction = _column_drift(reference, current, PREDICTION, "num", DataDriftOptions(**_one_column(drift.prediction)))
    # Evidently's dataset verdict: the share of drifted columns reaches drift_share.
    share = sum(c.drifted for c in columns) / len(columns) if columns else 0.0
    html, data = report_paths(settings, f"{window}-drift")
    return WindowReport(
        window=window,
        rows=len(current),
        drift_share=share,
        drifted=share >= drift.share,
        columns=columns,
        prediction=prediction,
        quality=None,
        html=str(html),
        json=str(data),
    )


def _column_drift(reference: pd.DataFrame, current: pd.DataFrame, column: str, kind: str, options: Any) -> ColumnDrift:
    """One column's test, as Evidently's ``get_one_column_drift`` runs it (same cleaning, same choice)."""
    from evidently.legacy.calculations.stattests import get_stattest
    from evidently.legacy.core import ColumnType

    column_type = ColumnType.Numerical if kind == "num" else ColumnType.Categorical
    ref, cur = (_cleaned(frame[column], column) for frame in (reference, current))
    test = get_stattest(ref, cur, column_type, options.get_feature_stattest_func(column, column_type.value))
    with np.errstate(all="ignore"):  # scipy's chatter on constant columns; thread-safe, unlike catch_warnings
        result = test(ref, cur, column_type, options.get_threshold(column, column_type.value))
    return ColumnDrift(
        column, test.display_name, float(result.drift_score), result.actual_threshold, bool(result.drifted)
    )


def _cleaned(values: pd.Series, column: str) -> pd.Series:
    cleaned = values.replace([-np.inf, np.inf], np.nan).dropna()
    if cleaned.empty:
        raise ValueError(f"column {column!r} holds no value to judge drift on")
    return cleaned


def _preset_options(drift: DriftSettings) -> dict[str, Any]:
    """``monitoring.drift`` as the keyword arguments ``DataDriftPreset`` hands to ``DataDriftOptions``."""
    options = {
        "num_features_stattest": drift.num_method,
        "cat_features_stattest": drift.cat_method,
        "all_features_threshold": drift.threshold,
        "per_feature_stattest": {c: s.method for c, s in drift.per_feature.items() if s.method} or None,
        "per_feature_threshold": {c: s.threshold for c, s in drift.per_feature.items() if s.threshold} or None,
    }
    return {k: v for k, v in options.items() if v is not None}


def _one_column(spec: FeatureDrift) -> dict[str, Any]:
    """A ``ValueDrift(method=, threshold=)`` as ``DataDriftOptions``, the way ``ValueDrift`` builds them."""
    return {"all_features_stattest": spec.method, "all_features_threshold": spec.threshold}


def quality(settings: Settings, reference: pd.DataFrame, labelled: pd.DataFrame) -> Quality:
    """ROC AUC of a window's labelled predictions (Evidently's ``RocAuc``), beside the reference's."""
    from evidently import Report
    from evidently.metrics import RocAuc

    numeric, categorical = monitored_columns(reference, settings)
    label = settings.schema_.label
    with np.errstate(all="ignore"):
        snapshot = Report([RocAuc()]).run(current_data=dataset(labelled, numeric, categorical, label))
    return Quality(len(labelled), roc_auc_of(snapshot.dict()), reference_roc_auc(reference, label))
