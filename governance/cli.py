"""``python -m governance``: the audit trail, model cards and policy checks from the command line.

Approvals and rejections move aliases, so they live with the flows: ``python -m pipelines
approve|reject`` (``make approve``, ``make reject``).
"""

from __future__ import annotations

import argparse
import sys

from core.environment import apply_tool_environment
from core.settings import SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m governance", description=__doc__)
    parser.add_argument("--params", default=None, help="configuration file (default: params.yaml at the project root)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("audit", help="verify the audit trail's hash chain and print its history (exit 1 if broken)")
    card = commands.add_parser("model-card", help="(re)write the model card of a registered version")
    card.add_argument("--version", required=True, help="registry version number")
    check = commands.add_parser("check", help="evaluate the policy for a version and a stage (recorded)")
    check.add_argument("--version", required=True, help="registry version number")
    check.add_argument("--stage", choices=["challenger", "champion"], default="champion")
    return parser


def audit_command(settings_path: str | None) -> int:
    from governance import audit

    settings = load_settings(settings_path)
    result = audit.verify(settings)
    print(f"audit trail: {audit.audit_path(settings)}")
    for entry in result.entries:
        print(audit.describe(entry))
    if result.ok:
        print(f"verified: {len(result.entries)} entries, hash chain intact")
        return 0
    print("BROKEN:", file=sys.stderr)
    for problem in result.problems:
        print(f"  {problem}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.params)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "audit":  # plain files: no tool needs its environment
        return audit_command(args.params)
    apply_tool_environment(settings)
    from governance import review
    from governance.evidence import version_dir

    try:
        if args.command == "model-card":
            review.publish_card(settings, args.version)
            folder = version_dir(settings, args.version)
            print(f"model card of v{args.version}: {folder / 'model_card.md'} and {folder / 'model_card.html'}")
            return 0
        report = review.check(settings, args.version, args.stage, actor="governance-cli")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report.to_markdown())
    return 0 if report.passed else 1
