"""``python -m pipelines``: run the platform's flows from the command line.

The tool environment (state folder, telemetry off) is applied before Prefect, MLflow
or DVC are imported, which is why the flows are imported inside ``main``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.environment import apply_tool_environment
from core.settings import SettingsError, load_settings, parse_overrides


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
    commands.add_parser("run", help="the training pipeline: ingest, validate, features, version, train, gate")
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
    args = _parser().parse_args(argv)
    try:
        overrides = parse_overrides(args.overrides)
        settings = load_settings(args.params, overrides)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    apply_tool_environment(settings)
    if args.command in ("approve", "reject"):
        from pipelines import promotion
        from serving.controller import PromotionRefused

        decide = promotion.approve if args.command == "approve" else promotion.reject
        try:
            print(decide(settings, args.version, approver=args.approver, reason=args.reason))
        except (ValueError, PromotionRefused) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "reproduce":
        from pipelines.reproduce import describe, reproduce

        reproduction = reproduce(settings, args.version)
        print(describe(reproduction))
        return 0 if reproduction.matches else 1

    from pipelines.flows import DataValidationError, training_pipeline
    from pipelines.summary import print_failure, print_summary

    started = time.perf_counter()
    params = str(Path(args.params).resolve()) if args.params else None
    try:
        result = training_pipeline(params=params, overrides=overrides)
    except DataValidationError as exc:
        print_failure(settings, str(exc))
        return 1
    print_summary(settings, result, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
