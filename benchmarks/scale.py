"""Benchmark the training pipeline as the data grows: ``make bench-scale``.

Runs the real training flow (Level 3: ingest, validate, features, DVC, Feast, the
point-in-time join, the search, the gate and governance) on the synthetic lender at
each size, every size in a fresh workspace and a fresh process, one after the other.
Prints each step's wall time and peak memory (the process's resident high-water mark
during the step), and its growth against the smallest size of the same run: with 10x
the rows, a linear step takes about 10x the time; one that grows faster shows.

The weeks stay 12 and customers a third of the rows (the demo's shape), so each size
is the same business with more applications. ``--set`` passes any setting to every
size (``--set features.engine=duckdb``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from core.settings import DEFAULT_PARAMS, PROJECT_ROOT

WEEKS = 12


def workspace_params(folder: Path, rows: int) -> Path:
    """A params.yaml for ``rows`` applications over the demo's weeks; its data and state live in ``folder``."""
    tree = yaml.safe_load(DEFAULT_PARAMS.read_text())  # state and data resolve against its folder
    tree["data"] |= {
        "history_weeks": WEEKS,
        "applications_per_week": rows // WEEKS,
        "customers": max(rows // 3, 100),
    }
    tree["gate"]["latency_budget_ms"] = 10_000.0  # one-row latency is not what grows with rows
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def measure(rows: int, overrides: list[str], keep: Path | None) -> dict[str, Any]:
    """One size, in a fresh workspace and process: its steps, wall time and rows."""
    folder = Path(tempfile.mkdtemp(prefix=f"scale-{rows}-", dir=keep))
    params = workspace_params(folder, rows)
    out = folder / "steps.json"
    command = [sys.executable, "-m", "benchmarks.scale", "--one", str(out), "--params", str(params)]
    for pair in overrides:
        command += ["--set", pair]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=PROJECT_ROOT, env={**os.environ, "MLOPS_PARAMS": str(params)}, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the pipeline at {rows} rows failed (workspace {folder})")
    measured: dict[str, Any] = json.loads(out.read_text())
    measured["wall"] = time.perf_counter() - started
    if keep is None:
        subprocess.run(["rm", "-rf", str(folder)], check=False)
    return measured


def run_one(out: Path, params: str, overrides: list[str]) -> int:
    """In the child: the training flow once, its steps written to ``out``."""
    from core.environment import apply_tool_environment
    from core.settings import load_settings, parse_overrides

    settings = load_settings(params, parse_overrides(overrides))
    apply_tool_environment(settings)
    from pipelines.flows.training import training_pipeline

    result = training_pipeline(settings)
    steps = [{"name": s.name, "seconds": s.seconds, "peak_mb": s.peak_mb} for s in result.steps]
    rows = int(result.metrics["train_rows"] + result.metrics["holdout_rows"])
    out.write_text(json.dumps({"steps": steps, "rows": rows, "registered": result.registration.verdict}))
    return 0


def table(sizes: list[int], runs: list[dict[str, Any]]) -> Table:
    base, base_rows = runs[0], sizes[0]
    out = Table(title="Training pipeline per step: wall time, peak memory, growth against the smallest size")
    out.add_column("step")
    for rows in sizes:
        ratio = f" ({rows / base_rows:.0f}x rows)" if rows != base_rows else ""
        out.add_column(f"{rows:,} rows{ratio}\ns | peak MB", justify="right")
    names = [s["name"] for s in base["steps"]]

    def cell(run: dict[str, Any], rows: int, name: str) -> str:
        step = next(s for s in run["steps"] if s["name"] == name)
        first = next(s for s in base["steps"] if s["name"] == name)
        text = f"{step['seconds']:.1f} | {step['peak_mb']:.0f}"
        if rows != base_rows:
            growth = step["seconds"] / max(first["seconds"], 1e-3)
            flag = " [bold red]>linear[/]" if growth > 1.5 * rows / base_rows else ""
            text += f"\nx{growth:.1f} time, x{step['peak_mb'] / first['peak_mb']:.1f} memory{flag}"
        return text

    for name in names:
        out.add_row(name, *(cell(run, rows, name) for run, rows in zip(runs, sizes, strict=True)))
    totals = []
    for run in runs:
        peak = max(s["peak_mb"] for s in run["steps"])
        totals.append(f"{run['wall']:.0f} s | {peak:.0f} MB\n({run['rows']:,} rows trained and held out)")
    out.add_row("[bold]whole run[/] (process start to exit)", *totals)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench-scale", description=__doc__)
    parser.add_argument("--rows", default="100000,1000000,3000000", help="comma-separated sizes, smallest first")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--keep", type=Path, default=None, help="keep each workspace under this folder")
    parser.add_argument("--one", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--params", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:
        return run_one(args.one, args.params, args.overrides)
    sizes = sorted(int(r) for r in args.rows.split(","))
    runs = []
    for rows in sizes:
        Console().print(f"[bold]{rows:,} rows[/] ...")
        runs.append(measure(rows, args.overrides, args.keep))
    Console().print(table(sizes, runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
