"""Benchmark one window's drift judgement: ``make bench-monitoring`` (after ``make pipeline``).

Uses the real state: the champion's reference and the latest ``window_rows`` of the
prediction log. Times, beside a baseline in the same run:

* the decision, on the monitor's critical path: Evidently's drift tests alone
  (``monitoring/decisions.py``);
* for comparison, an Evidently ``Report`` of just the drift metrics
  (``DriftedColumnsCount`` and a ``ValueDrift`` per column), computed, no HTML: its
  metrics draw their figures while they compute;
* the full report, written in the background (``monitoring/report_queue.py``):
  computed, rendered to HTML and JSON, then also added to the workspace.

The baseline is the same per-feature tests done directly with scipy (normed
Wasserstein for numbers, Jensen-Shannon for categories), the least any drift check
must compute. Prints the ratios, and the report's size on disk.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from core.environment import apply_tool_environment
from core.settings import Settings, load_settings
from core.timing import median_ms
from monitoring import decisions, reports, windows
from monitoring.reference import PREDICTION, reference_for


def scipy_drift(reference: pd.DataFrame, current: pd.DataFrame, numeric: list[str], categorical: list[str]) -> int:
    """The baseline: one score per feature, by hand; returns how many pass 0.1."""
    drifted = 0
    for column in numeric:
        ref, cur = reference[column].dropna().to_numpy(), current[column].dropna().to_numpy()
        scale = np.std(ref) or 1.0
        drifted += wasserstein_distance(ref, cur) / scale >= 0.1
    for column in categorical:
        levels = sorted(set(reference[column].dropna()) | set(current[column].dropna()))
        p = reference[column].value_counts(normalize=True).reindex(levels, fill_value=0)
        q = current[column].value_counts(normalize=True).reindex(levels, fill_value=0)
        drifted += jensenshannon(p, q) >= 0.1
    return int(drifted)


def run(settings: Settings, repeat: int) -> Table:
    from core.registry import alias_version

    champion = alias_version(settings, "champion")
    if champion is None:
        raise SystemExit("no champion: run `make pipeline` first")
    reference = reference_for(settings, champion)
    predictions = windows.load_predictions(settings)
    if len(predictions) < settings.monitoring.min_rows:
        raise SystemExit("the prediction log is (nearly) empty: run `make pipeline` first")
    current = predictions.tail(settings.monitoring.window_rows)
    numeric, categorical = reports.monitored_columns(reference, settings)

    with tempfile.TemporaryDirectory() as scratch:
        scratch_settings = settings.model_copy(update={"state_dir": Path(scratch)})
        baseline = median_ms(lambda: scipy_drift(reference, current, numeric, categorical), repeat, warm_up=False)
        decided = median_ms(lambda: decisions.judge(settings, reference, current, "bench"), repeat)
        metrics_only = median_ms(lambda: _drift_metrics_only(reference, current, numeric, categorical), repeat)
        built = median_ms(
            lambda: reports.build_drift_report(scratch_settings, reference, current, "bench"), repeat, warm_up=False
        )
        full = median_ms(lambda: _full(scratch_settings, reference, current), repeat, warm_up=False)
        html = next((Path(scratch) / "monitoring" / "reports").glob("*.html"))
        data = html.with_suffix(".json")
        size_html, size_json = html.stat().st_size / 1e6, data.stat().st_size / 1e6

    table = Table(
        title=f"Drift report for one window ({len(current)} rows, {len(numeric) + len(categorical)} features; "
        f"reference {len(reference)} rows; median of {repeat})"
    )
    table.add_column("what")
    table.add_column("ms", justify="right")
    table.add_column("x baseline", justify="right")
    table.add_row("baseline: the same tests by hand (scipy)", f"{baseline:.0f}", "1.0")
    table.add_row(
        "[bold]the decision[/]: Evidently's drift tests alone (critical path)",
        f"{decided:.0f}",
        f"{decided / baseline:.1f}",
    )
    table.add_row(
        "Evidently Report of the drift metrics only, computed, no HTML",
        f"{metrics_only:.0f}",
        f"{metrics_only / baseline:.1f}",
    )
    table.add_row("full report (background): computed, HTML + JSON saved", f"{built:.0f}", f"{built / baseline:.1f}")
    table.add_row(
        "...and added to the Evidently workspace, as the writer does", f"{full:.0f}", f"{full / baseline:.1f}"
    )
    table.add_row("report size on disk", f"HTML {size_html:.1f} MB, JSON {size_json:.2f} MB", "")
    return table


def _drift_metrics_only(
    reference: pd.DataFrame, current: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> None:
    from evidently import Report
    from evidently.metrics import DriftedColumnsCount, ValueDrift

    columns = numeric + categorical
    metrics = [DriftedColumnsCount(columns=columns), *(ValueDrift(column=c) for c in [*columns, PREDICTION])]
    Report(metrics).run(
        current_data=reports.dataset(current, numeric, categorical, None),
        reference_data=reports.dataset(reference, numeric, categorical, None),
    ).dict()


def _full(settings: Settings, reference: pd.DataFrame, current: pd.DataFrame) -> None:
    _, snapshot = reports.build_drift_report(settings, reference, current, "bench")
    reports.add_to_workspace(settings, snapshot)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench-monitoring", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    settings = load_settings()
    apply_tool_environment(settings)
    Console().print(run(settings, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
