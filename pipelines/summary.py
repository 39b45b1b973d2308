"""What a run prints at the end: what happened, the numbers, and where to look next."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core import loop_store
from core.settings import Settings
from core.timing import StepTime
from pipelines.levels import spec
from pipelines.results import LoopResult, MonitorResult, PipelineResult, WeekOfTraffic

console = Console()


def time_of(steps: list[StepTime], *names: str) -> str:
    """The wall time of the named steps together, for a table's time column."""
    found = [s.seconds for s in steps if s.name in names]
    return f"{sum(found):.1f} s" if found else ""


def cpu_of(steps: list[StepTime], *names: str) -> str:
    """This process's CPU time in the named steps: below the wall time, it waited (on a server, a core)."""
    found = [s.cpu_seconds for s in steps if s.name in names]
    return f"{sum(found):.1f} s" if found else ""


def step_line(steps: list[StepTime]) -> str:
    """Every step and its time on one line: where a run's time went."""
    return " · ".join(f"{s.name} {s.seconds:.1f} s" for s in steps)


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
        table.add_row(
            "prediction log",
            str(settings.predictions_dir) if settings.loop_store is None else f"{settings.loop_store}/predictions/",
        )
        table.add_row(
            "canary state (every replica routes by it)", loop_store.location(settings, loop_store.CANARY_STATE)
        )
    table.add_row("state folder", str(settings.state))
    return table


def print_summary(settings: Settings, result: PipelineResult, seconds: float) -> None:
    steps = Table(title=f"Training pipeline finished in {seconds:.0f} s", show_header=True, header_style="bold")
    steps.add_column("step")
    steps.add_column("result")
    steps.add_column("time", justify="right")
    times = result.steps
    accepted = [b.name for b in result.batches if b.passed]
    steps.add_row(
        "ingest",
        f"{len(result.batches)} new batch(es)" if result.batches else "no new batches",
        time_of(times, "ingest"),
    )
    steps.add_row(
        "validate", f"{len(accepted)} passed" if accepted else "nothing new to validate", time_of(times, "validate")
    )
    table = result.feature_table
    served = (
        f"\nFeast service {result.feature_service} materialized"
        if result.feature_service
        else "\njoined for training without a feature store (Level 2)"
    )
    steps.add_row(
        "features",
        f"history table: {table.rows} rows, {table.checks} checks passed{served}",
        time_of(times, "features", "feature store"),
    )
    steps.add_row(
        "version",
        f"DVC: data/raw {result.data_version}\n     data/features {result.features_version}",
        time_of(times, "version"),
    )
    steps.add_row(
        "train",
        f"best of {result.candidates} candidates ({result.search_seconds:.1f} s): {result.family}"
        f"\nMLflow run {result.run_id}",
        time_of(times, "training set", "train"),
    )
    reg = result.registration
    verdict = escape(reg.verdict)  # rule sources read "[set by <file> <key>]": text, not markup
    if reg.version and reg.alias:
        gate = f"{verdict}\nregistered version {reg.version} as '{reg.alias}'"
    elif reg.version:
        gate = f"{verdict}\nversion {reg.version}: {escape(reg.note)}"
    else:
        gate = f"{verdict}\nnothing registered; the champion stays"
    steps.add_row("gate", gate, time_of(times, "gate and register"))
    alert = result.drift_alert
    if alert is not None:
        if alert.drifted:
            text = (
                f"[bold red]ALERT[/]: {alert.share:.0%} of features drifted in {alert.window}"
                f"\nmost: {', '.join(alert.ranked[:3])}\nretraining is up to you (Level 2); alert {alert.alert_file}"
            )
        else:
            text = f"no drift in {alert.window} ({alert.share:.0%} of features)"
        steps.add_row("drift", f"{text}\nreport {alert.html}", time_of(times, "drift alert"))
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
        skewed = f"; {report.serving_skew}" if report.serving_skew is not None else ""
        lines.append(
            f"{report.window}: {report.drift_share:.0%} drifted (top: {top}){alert}{skewed}\n  -> {judged.decision}"
        )
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
    steps.add_column("time", justify="right")
    steps.add_column("cpu", justify="right")  # the loop's own process; the service and Prefect's API are apart
    times = result.steps

    def row(step: str, text: str, *names: str) -> None:
        steps.add_row(step, text, time_of(times, *names), cpu_of(times, *names))

    row("start", "Prefect's API started while the libraries imported", "start")
    if result.training is not None:
        reg = result.training.registration
        kept = f"v{reg.version} is {reg.alias}" if reg.version else "champion kept"
        row("train", f"gate {escape(reg.verdict)}; {kept}\n{step_line(result.training.steps)}", "train")
    row(
        "serve",
        f"BentoML service on {result.url} (stopped at the end); started at the first registration: "
        "the time is what was left to wait",
        "serve",
    )
    for week in result.weeks:
        steps.add_row(*_week_row(week, times))
    retrained = result.retrained
    if retrained is not None:
        r = retrained.registration
        outcome = f"v{r.version} is {r.alias}" if r.version else "not registered"
        steps.add_row(
            "retrain",
            f"run {retrained.run_id}: gate {escape(r.verdict)}; {outcome}\n{step_line(retrained.steps)}",
            f"{sum(s.seconds for s in retrained.steps):.1f} s",
            f"{sum(s.cpu_seconds for s in retrained.steps):.1f} s",
        )
    if result.canary is not None:
        row("canary", "\n".join([*result.canary.history[-3:], f"outcome: {result.canary.outcome}"]), "canary")
    if retrained is not None:
        from pipelines.story import outcome_sentence

        steps.add_row("outcome", outcome_sentence(result)[0])
    row("reports", "the last full Evidently reports (written in the background) waited for", "reports")
    aliases = ", ".join(f"{k}=v{v}" for k, v in sorted(result.aliases.items()))
    steps.add_row("registry", aliases or "no aliases", "", "")
    console.print(steps)
    console.print(where_to_look(settings))
    print_level(settings.level)


def _week_row(week: WeekOfTraffic, times: list[StepTime]) -> tuple[str, str, str, str]:
    """A week of traffic and its monitor; a retraining the monitor started has its own row."""
    traffic = week.traffic
    lines = [f"{traffic.sent} requests in {traffic.seconds:.0f} s, {traffic.errors} errors; labels delivered"]
    if week.monitor is not None:
        lines += monitor_rows(week.monitor)
    names = (f"week {week.week} traffic", f"week {week.week} monitor")
    traffic_s, monitor_s = (sum(s.seconds for s in times if s.name == n) for n in names)
    cpu = sum(s.cpu_seconds for s in times if s.name in names)
    if week.monitor is not None and week.monitor.retrained is not None:
        monitor_s -= sum(s.seconds for s in week.monitor.retrained.steps)
        cpu -= sum(s.cpu_seconds for s in week.monitor.retrained.steps)
    lines.append(f"traffic {traffic_s:.1f} s · monitor {monitor_s:.1f} s")
    return f"week {week.week}\n{week.scenario}", "\n".join(lines), f"{traffic_s + monitor_s:.1f} s", f"{cpu:.1f} s"
