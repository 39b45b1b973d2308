"""The canary's quality rule as a command: the Argo Rollouts analysis job of the cluster canary.

``python -m monitoring.quality_check --challenger 7`` compares the challenger with the
champion (the registry alias, or ``--champion``) on the labelled rows of the prediction
log since ``--since`` (default: the challenger's first logged answer), paired, with the
same code as the local controller (monitoring/canary_quality.py, serving/analysis.py
``judge_quality``) and the thresholds of ``serving/canary.yaml``. Its exit status:

* 0: pass. Either the challenger's ROC AUC is surely within ``max_quality_degradation``
  of the champion's, or too few labelled rows exist to judge it (``min_labelled``):
  then, as locally, the canary is judged on errors and latency alone.
* 1: fail. The data show the challenger ranks worse than allowed.
* 2: inconclusive. Enough labels, but the difference is not yet told apart from the
  allowance, after re-checking every ``--every`` seconds for ``--hold`` seconds. With
  ``--inconclusive-passes`` it exits 0 instead (the per-interval check, which only looks
  for a surely worse challenger).
* 3: the check itself could not run (the registry or the log store is unreachable).

Argo Rollouts reads a Job as Successful (exit 0) or Failed (anything else): there is no
inconclusive exit status for a Job (infra/README.md says how the Rollout uses 1, 2 and 3).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from core import registry
from core.settings import Settings, load_settings
from monitoring.canary_quality import Scorer, compare, offline_scorer
from monitoring.windows import LOGGED_AT, load_predictions
from serving.analysis import QualityComparison, judge_quality
from serving.canary import CANARY_FILE, CanaryMetrics, load_canary_config

PASS, FAIL, INCONCLUSIVE, BROKEN = 0, 1, 2, 3


def challenger_since(settings: Settings, challenger: str) -> str | None:
    """When the challenger's first logged answer was: where its canary began, as far as the log tells."""
    predictions = load_predictions(settings)
    if predictions.empty:
        return None
    answered = predictions[predictions["model_version"].astype(str) == challenger]
    return None if answered.empty else str(answered[LOGGED_AT].min())


def check_once(
    settings: Settings, champion: str, challenger: str, since: str | None, metrics: CanaryMetrics, score: Scorer
) -> tuple[int, str]:
    """One look at the log and the labels: (exit status, what was seen)."""
    since = since or challenger_since(settings, challenger)
    if since is None:
        return PASS, f"v{challenger} has no logged answers yet: quality not judged"
    quality: QualityComparison | None = compare(
        settings, champion, challenger, since, metrics.min_labelled, metrics.confidence, score
    )
    if quality is None:
        return PASS, f"fewer than {metrics.min_labelled} labelled rows since {since}: quality not judged"
    judged, said = judge_quality(quality, metrics)
    status = {"worse": FAIL, "fine": PASS, "inconclusive": INCONCLUSIVE}[judged]
    return status, f"{judged}: v{challenger} against v{champion} since {since}: {said}"


def check(
    settings: Settings,
    challenger: str,
    champion: str | None = None,
    since: str | None = None,
    hold: float = 0.0,
    every: float = 60.0,
    metrics: CanaryMetrics | None = None,
    report: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """The exit status of the quality rule, re-checked while inconclusive for up to ``hold`` seconds."""
    metrics = metrics or load_canary_config().metrics
    champion = champion or registry.alias_version(settings, registry.CHAMPION)
    if champion is None:
        report("no champion in the registry: nothing to compare with")
        return BROKEN
    score = offline_scorer(settings)  # each version loads once, however long the hold
    waited = 0.0
    while True:
        status, said = check_once(settings, champion, challenger, since, metrics, score)
        report(said)
        if status != INCONCLUSIVE or waited + every > hold:
            return status
        sleep(every)
        waited += every


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitoring.quality_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--challenger", default="", help="registry version of the canary (empty: the challenger alias)")
    parser.add_argument(
        "--champion", default="", help="registry version of the stable pods (empty: the champion alias)"
    )
    parser.add_argument("--since", default="", help="ISO time the canary began (empty: the challenger's first answer)")
    parser.add_argument("--hold", type=float, default=0.0, help="seconds to keep re-checking while inconclusive")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between checks while holding")
    parser.add_argument("--inconclusive-passes", action="store_true", help="exit 0, not 2, when inconclusive")
    parser.add_argument("--params", default=None, help="params file (default: MLOPS_PARAMS or params.yaml)")
    parser.add_argument("--canary", type=Path, default=CANARY_FILE, help="canary configuration (serving/canary.yaml)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.params)
        challenger = args.challenger or registry.alias_version(settings, registry.CHALLENGER)
        if challenger is None:
            print("no challenger: pass --challenger or set the registry alias")
            return BROKEN
        metrics = load_canary_config(args.canary).metrics
        status = check(settings, challenger, args.champion or None, args.since or None, args.hold, args.every, metrics)
    except Exception as error:  # an unreachable registry or store is not a verdict on the model
        print(f"the quality check could not run: {type(error).__name__}: {error}", file=sys.stderr)
        return BROKEN
    if status == INCONCLUSIVE and args.inconclusive_passes:
        return PASS
    return status


if __name__ == "__main__":
    sys.exit(main())
