"""What a run prints at the end: what happened, the numbers, and where to look next."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.settings import Settings
from pipelines.levels import spec
from pipelines.results import LoopResult, MonitorResult, PipelineResult

console = Console()


def where_to_look(settings: Settings) -> Table:
    table = Table(title="Where to look", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("command")
    table.add_row("experiments and models (MLflow UI)", "make mlflow-ui")
    table.add_row("flow runs (Prefect UI)", 'make prefect-ui   or   eval "$(make -s env)"; prefect flow-run ls')
    table.add_row("data validation (Data Docs)", "make data-docs")
    table.add_row("data versions (DVC)", "dvc status; dvc data status")
    if settings.level >= 3:
        table.add_row("feature store (Feast)", "make feast-ls")
    if settings.level >= 2:
        table.add_row("drift reports (Evidently UI)", "make monitor-ui")
        table.add_row("drift reports (HTML files)", str(settings.monitoring_dir / "reports"))
    if settings.level >= 3:
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
    served = (
        f"\nFeast service {result.feature_service} materialized"
        if result.feature_service
        else "\njoined for training without a feature store (Level 2)"
    )
    steps.add_row("features", f"history table: {table.rows} rows, {table.checks} checks passed{served}")
    steps.add_row("version", f"DVC: data/raw {result.data_version}\n     data/features {result.features_version}")
    steps.add_row(
        "train",
        f"best of {result.candidates} candidates ({result.search_seconds:.1f} s): {result.family}"
        f"\nMLflow run {result.run_id}",
    )
    reg = result.registration
    verdict = escape(reg.verdict)  # rule sources read "[set by <file> <key>]": text, not markup
    if reg.version and reg.alias:
        steps.add_row("gate", f"{verdict}\nregistered version {reg.version} as '{reg.alias}'")
    elif reg.version:
        steps.add_row("gate", f"{verdict}\nversion {reg.version}: {escape(reg.note)}")
    else:
        steps.add_row("gate", f"{verdict}\nnothing registered; the champion stays")
    alert = result.drift_alert
    if alert is not None:
        if alert.drifted:
            text = (
                f"[bold red]ALERT[/]: {alert.share:.0%} of features drifted in {alert.window}"
                f"\nmost: {', '.join(alert.ranked[:3])}\nretraining is up to you (Level 2); alert {alert.alert_file}"
            )
        else:
            text = f"no drift in {alert.window} ({alert.share:.0%} of features)"
        steps.add_row("drift", f"{text}\nreport {alert.html}")
    console.print(steps)

    metrics = Table(title="Holdout metrics (latest weeks)", show_header=True, header_style="bold")
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    for name in ("roc_auc", "pr_auc", "f1", "log_loss", "brier", "default_rate", "train_rows", "holdout_rows"):
        value = result.metrics[name]
        metrics.add_row(name, f"{value:.0f}" if name.endswith("_rows") else f"{value:.4f}")
    console.print(metrics)
    console.print(where_to_look(settings))
    print_level(result.level)


def print_level(level: int) -> None:
    """What this level added over the one below, and what is still done by hand."""
    level_spec = spec(level)
    table = Table(title=f"Maturity Level {level}: {level_spec.name}", show_header=True, header_style="bold")
    table.add_column(f"added over Level {level - 1}" if level else "what this level does")
    table.add_column("still manual")
    added, manual = list(level_spec.added), list(level_spec.manual)
    for row in range(max(len(added), len(manual))):
        table.add_row(added[row] if row < len(added) else "", manual[row] if row < len(manual) else "")
    console.print(table)
    if level < 3:
        console.print(f"Next: make pipeline LEVEL={level + 1}, then make assess (docs/workshop/)")


def print_plain_run(title: str, family: str, metrics: dict[str, float], where: list[tuple[str, str]]) -> None:
    """The end of a Level 0 or Level 1 run: the model, its metrics, where it went."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("value")
    table.add_row("model", family)
    for name in ("roc_auc", "pr_auc", "f1", "log_loss", "brier"):
        table.add_row(f"holdout {name}", f"{metrics[name]:.4f}")
    for what, value in where:
        table.add_row(what, value)
    console.print(table)


def print_failure(settings: Settings, message: str) -> None:
    console.print(f"[bold red]Pipeline stopped before training[/]\n{escape(message)}", highlight=False)
    console.print(
        f"The failed batch and its validation report are kept in {settings.quarantine_dir}; "
        "accepted batches were versioned as usual."
    )


def monitor_rows(outcome: MonitorResult) -> list[str]:
    """What one monitor run judged and decided, a line each."""
    lines = []
    for judged in outcome.windows:
        report = judged.report
        top = ", ".join(c.column for c in report.drifted_columns[:4]) or "none"
        alert = (
            f"; DATA QUALITY ALERT ({len(report.data_quality_failures)} checks)" if report.data_quality_failures else ""
        )
        lines.append(f"{report.window}: {report.drift_share:.0%} drifted (top: {top}){alert}\n  -> {judged.decision}")
    lines += outcome.quality
    lines += [f"PREDICTION LOG: {problem}" for problem in outcome.log_problems]
    lines = [escape(line) for line in lines]
    if outcome.trigger is not None:
        lines.append(f"TRIGGER ({outcome.trigger.kind}): report {outcome.trigger.report}")
    return lines


def print_loop_summary(settings: Settings, result: LoopResult, seconds: float) -> None:
    steps = Table(title=f"The Level-3 loop finished in {seconds:.0f} s", show_header=True, header_style="bold")
    steps.add_column("step")
    steps.add_column("what happened")
    if result.training is not None:
        reg = result.training.registration
        kept = f"v{reg.version} is {reg.alias}" if reg.version else "champion kept"
        steps.add_row("train", f"gate {escape(reg.verdict)}; {kept}")
    steps.add_row("serve", f"BentoML service on {result.url} (stopped at the end)")
    for week in result.weeks:
        traffic = week.traffic
        lines = [f"{traffic.sent} requests in {traffic.seconds:.0f} s, {traffic.errors} errors; labels delivered"]
        if week.monitor is not None:
            lines += monitor_rows(week.monitor)
        steps.add_row(f"week {week.week}\n{week.scenario}", "\n".join(lines))
    retrained = result.retrained
    if retrained is not None:
        r = retrained.registration
        steps.add_row(
            "retrain",
            f"run {retrained.run_id}: gate {escape(r.verdict)}; "
            + (f"v{r.version} is {r.alias}" if r.version else "not registered"),
        )
    if result.canary is not None:
        steps.add_row("canary", "\n".join([*result.canary.history[-3:], f"outcome: {result.canary.outcome}"]))
    aliases = ", ".join(f"{k}=v{v}" for k, v in sorted(result.aliases.items()))
    steps.add_row("registry", aliases or "no aliases")
    console.print(steps)
    console.print(where_to_look(settings))
    print_level(settings.level)
