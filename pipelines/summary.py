"""What a run prints at the end: what happened, the numbers, and where to look next."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from core.settings import Settings
from pipelines.flows import PipelineResult

console = Console()


def where_to_look(settings: Settings) -> Table:
    table = Table(title="Where to look", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("command")
    table.add_row("experiments and models (MLflow UI)", "make mlflow-ui")
    table.add_row("flow runs (Prefect UI)", 'make prefect-ui   or   eval "$(make -s env)"; prefect flow-run ls')
    table.add_row("data validation (Data Docs)", "make data-docs")
    table.add_row("data versions (DVC)", "dvc status; dvc data status")
    table.add_row("feature store (Feast)", "make feast-ls")
    table.add_row("model cards, compliance reports", f"{settings.state / 'governance' / 'versions'}/v<n>/")
    table.add_row("audit trail (verified)", "make audit")
    table.add_row("state folder", str(settings.state))
    return table


def print_summary(settings: Settings, result: PipelineResult, seconds: float) -> None:
    steps = Table(title=f"Training pipeline finished in {seconds:.0f} s", show_header=True, header_style="bold")
    steps.add_column("step")
    steps.add_column("result")
    accepted = [b.name for b in result.batches if b.passed]
    steps.add_row("ingest", f"{len(result.batches)} new batch(es)" if result.batches else "no new batches")
    steps.add_row("validate", f"{len(accepted)} passed" if accepted else "nothing new to validate")
    table = result.feature_table
    steps.add_row(
        "features",
        f"history table: {table.rows} rows, {table.checks} checks passed"
        f"\nFeast service {result.feature_service} materialized",
    )
    steps.add_row("version", f"DVC: data/raw {result.data_version}\n     data/features {result.features_version}")
    steps.add_row(
        "train",
        f"best of {result.candidates} candidates ({result.search_seconds:.1f} s): {result.family}"
        f"\nMLflow run {result.run_id}",
    )
    reg = result.registration
    if reg.version and reg.alias:
        steps.add_row("gate", f"{reg.verdict}\nregistered version {reg.version} as '{reg.alias}'")
    elif reg.version:
        steps.add_row("gate", f"{reg.verdict}\nversion {reg.version}: {reg.note}")
    else:
        steps.add_row("gate", f"{reg.verdict}\nnothing registered; the champion stays")
    console.print(steps)

    metrics = Table(title="Holdout metrics (latest weeks)", show_header=True, header_style="bold")
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    for name in ("roc_auc", "pr_auc", "f1", "log_loss", "brier", "default_rate", "train_rows", "holdout_rows"):
        value = result.metrics[name]
        metrics.add_row(name, f"{value:.0f}" if name.endswith("_rows") else f"{value:.4f}")
    console.print(metrics)
    console.print(where_to_look(settings))


def print_failure(settings: Settings, message: str) -> None:
    console.print(f"[bold red]Pipeline stopped before training[/]\n{message}", highlight=False)
    console.print(
        f"The failed batch and its validation report are kept in {settings.quarantine_dir}; "
        "accepted batches were versioned as usual."
    )
