"""``python -m pipelines``: run the platform's flows from the command line.

The tool environment (state folder, telemetry off) is applied before Prefect, MLflow
or DVC are imported, which is why the flows are imported inside ``main``.
"""

from __future__ import annotations

import argparse
import sys
import time

from core.environment import apply_tool_environment
from core.settings import Settings, SettingsError, load_settings, parse_overrides


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__)
    parser.add_argument("--params", default=None, help="configuration file (default: params.yaml at the project root)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting, e.g. --set data.scenario=covariate_shift (repeatable)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run", help="the training pipeline at the configured maturity level (--set level=0|1|2|3; default 3)"
    )
    commands.add_parser(
        "loop", help="the whole Level-3 loop: train, serve, traffic, drift, retrain, canary (make pipeline)"
    )
    watch = commands.add_parser("monitor", help="judge new windows of the prediction log; retrain if the policy fires")
    watch.add_argument("--no-retrain", action="store_true", help="report and decide, but start no retraining")
    watch.add_argument(
        "--url",
        nargs="+",
        default=None,
        help="a running service (or every replica's URL): the retrained challenger goes through its canary",
    )
    drift = commands.add_parser(
        "drift-demo", help="against a running service: normal then drifted traffic, the monitor after each week"
    )
    drift.add_argument("--url", required=True)
    canary = commands.add_parser("canary", help="take the registry's challenger through the canary (make canary)")
    canary.add_argument(
        "--url",
        nargs="+",
        default=["http://127.0.0.1:3000"],
        help="the running service (make serve), or every replica's URL: judged as one",
    )
    demo = commands.add_parser("canary-demo", help="live: one challenger promoted, one broken challenger rolled back")
    demo.add_argument("--url", default="http://127.0.0.1:3000", help="a running service, or where to start one")
    again = commands.add_parser("reproduce", help="retrain a registered version from its lineage and compare metrics")
    again.add_argument("--version", required=True, help="registry version number")
    for verb, does in (
        ("approve", "approve a version; completes a promotion that waited for it"),
        ("reject", "reject a version; a challenger is retired"),
    ):
        decision = commands.add_parser(verb, help=does)
        decision.add_argument("--version", required=True, help="registry version number")
        decision.add_argument("--approver", required=True, help="who decides (recorded in the audit trail)")
        decision.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
    return parser


def main(argv: list[str] | None = None) -> int:
    begun = time.perf_counter()  # the loop's time counts its imports and Prefect's start too
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.params, parse_overrides(args.overrides))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Before Prefect, MLflow or DVC are imported: they read their environment once.
    apply_tool_environment(settings)
    if args.command in ("approve", "reject"):
        from governance.promotion import PromotionRefused
        from serving import controller

        decide = controller.approve if args.command == "approve" else controller.reject
        try:
            print(decide(settings, args.version, approver=args.approver, reason=args.reason))
        except (ValueError, PromotionRefused) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "reproduce":
        from pipelines.steps.reproduce import describe, reproduce

        reproduction = reproduce(settings, args.version)
        print(describe(reproduction))
        return 0 if reproduction.matches else 1
    if args.command in ("canary", "canary-demo"):
        from pipelines.flows import canary

        if args.command == "canary-demo":
            return canary.demo(settings, args.url)
        run = canary.canary(settings, args.url)
        return 0 if run is None or run.outcome in ("promoted", "awaiting_approval") else 1

    if args.command in {"run", "loop"} and settings.level < 2:
        return run_plain_level(settings)
    command = "run" if args.command == "loop" and settings.level < 3 else args.command  # the loop is Level 3

    from pipelines import warmup

    warmup.start_prefect_api(settings)  # its start overlaps the imports below (pipelines/warmup.py)
    from pipelines.flows.loop import NoChampion
    from pipelines.flows.training import training_pipeline
    from pipelines.steps.data import DataValidationError
    from pipelines.summary import print_failure, print_loop_summary, print_summary

    started = time.perf_counter()
    try:
        if command != "loop":  # the loop waits for the API while it imports the libraries
            warmup.wait_for_prefect_api()
        if command == "loop":
            from pipelines.flows.loop import run_loop
            from pipelines.story import write_story

            looped = run_loop(settings, since=begun)
            seconds = time.perf_counter() - begun
            print_loop_summary(settings, looped, seconds)
            print(f"the loop's story, one page to open or project: {write_story(settings, looped, seconds)}")
        elif command == "monitor":
            from pipelines.flows.monitor import monitor
            from pipelines.summary import monitor_rows

            outcome = monitor(settings, retrain=not args.no_retrain, services=args.url)
            print("\n".join(monitor_rows(outcome)) or "nothing to judge yet")
            _wait_for_reports()
        elif command == "drift-demo":
            from pipelines.flows.loop import drift_demo

            drift_demo(settings, args.url)
            _wait_for_reports()
        else:
            print_summary(settings, training_pipeline(settings), time.perf_counter() - started)
    except DataValidationError as exc:
        print_failure(settings, str(exc))
        return 1
    except NoChampion as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _wait_for_reports() -> None:
    """The full Evidently reports are written in the background; the process waits for them."""
    from monitoring import report_queue

    for name in report_queue.wait():
        print(f"warning: the {name} report failed; the next monitor run writes it", file=sys.stderr)


def run_plain_level(settings: Settings) -> int:
    """Levels 0 and 1: a script, no Prefect flow (see pipelines/levels.py)."""
    from pipelines.flows import level0, level1
    from pipelines.summary import print_level, print_plain_run

    started = time.perf_counter()
    if settings.level == 0:
        plain = level0.run(settings)
        title = f"Level 0 script finished in {time.perf_counter() - started:.0f} s"
        print_plain_run(title, plain.family, plain.metrics, [("model file", str(plain.model_path))])
    else:
        tracked = level1.run(settings)
        title = f"Level 1 run finished in {time.perf_counter() - started:.0f} s"
        where = [("MLflow run", tracked.run_id), ("logged model", tracked.model_uri), ("UI", "make mlflow-ui")]
        print_plain_run(title, tracked.family, tracked.metrics, where)
    print_level(settings.level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
