"""Render the cluster canary (Argo Rollouts) from ``serving/canary.yaml``.

One source of truth for steps and thresholds: the local controller (serving/controller.py)
and a cluster's Argo Rollouts controller read the same file. This module writes two
kustomize inputs into ``infra/k8s/base/``, both generated, never edited by hand:

* ``canary-strategy.yaml``, a patch that gives the Rollout its canary steps (each
  weight held for one analysis interval, as the local controller does) and its
  progress deadline;
* ``canary-analysis.yaml``, an ``AnalysisTemplate`` judging the canary pods every
  interval on the service's own Prometheus metrics: success rate, p99 latency, and p99
  relative to the stable pods. ``threshold`` failed intervals abort the rollout.

What does not carry over is refused or said, not dropped silently: shadow traffic needs
a traffic router that mirrors requests (refused here), and the quality comparison needs
labels, which arrive later through the monitoring loop (not a per-interval metric).

``python -m infra.rollout`` (``make k8s``) regenerates both files; a test fails when
they differ from what ``serving/canary.yaml`` says.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from serving.canary import CANARY_FILE, CanaryConfig, load_canary_config

BASE = Path(__file__).resolve().parent / "k8s" / "base"
ROLLOUT = "credit-service"
TEMPLATE = "credit-service-canary"
HEADER = "# Generated from serving/canary.yaml by `make k8s` (infra/rollout.py). Do not edit: edit that file.\n"

# PromQL over the service's metrics (serving/service.py), restricted to one pod template.
_ANSWERED = 'credit_requests_total{{rollouts_pod_template_hash="{{{{args.{hash}}}}}"}}'
_FAILED = 'credit_errors_total{{kind="error",rollouts_pod_template_hash="{{{{args.{hash}}}}}"}}'
_LATENCY = 'credit_latency_seconds_bucket{{rollouts_pod_template_hash="{{{{args.{hash}}}}}"}}'


def _window(config: CanaryConfig) -> str:
    """The rate window: one interval, but never shorter than a minute (two scrapes at least)."""
    return f"{max(60, round(config.analysis.interval_seconds))}s"


def _p99(hash_arg: str, window: str) -> str:
    selector = _LATENCY.format(hash=hash_arg)
    return f"histogram_quantile(0.99, sum by (le) (rate({selector}[{window}])))"


def analysis_template(config: CanaryConfig) -> dict[str, Any]:
    """The per-interval checks of ``metrics`` in canary.yaml, as Prometheus queries."""
    interval, window = f"{round(config.analysis.interval_seconds)}s", _window(config)
    answered, failed = _ANSWERED.format(hash="canary-hash"), _FAILED.format(hash="canary-hash")
    success = f"sum(rate({answered}[{window}])) / (sum(rate({answered}[{window}])) + sum(rate({failed}[{window}])))"
    ratio = f"{_p99('canary-hash', window)} / {_p99('stable-hash', window)}"
    thresholds = config.metrics

    def metric(name: str, query: str, condition: str) -> dict[str, Any]:
        return {
            "name": name,
            "interval": interval,
            # Flagger's `threshold` counts failed checks before rollback; Argo counts failures allowed.
            "failureLimit": config.analysis.threshold - 1,
            "successCondition": condition,
            "provider": {"prometheus": {"address": "{{args.prometheus-address}}", "query": query}},
        }

    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": TEMPLATE},
        "spec": {
            "args": [
                {"name": "canary-hash"},
                {"name": "stable-hash"},
                {"name": "prometheus-address", "value": "http://prometheus.monitoring.svc:9090"},
            ],
            "metrics": [
                metric("success-rate", success, f"result[0] >= {thresholds.min_success_rate}"),
                metric(
                    "p99-latency",
                    _p99("canary-hash", window),
                    f"result[0] <= {thresholds.max_p99_latency_ms / 1000:g}",
                ),
                metric("p99-latency-ratio", ratio, f"result[0] <= {thresholds.max_p99_latency_ratio:g}"),
            ],
        },
    }


def strategy_patch(config: CanaryConfig) -> dict[str, Any]:
    """The Rollout's canary: each weight of ``steps`` held for one analysis interval."""
    if config.shadow:
        raise ValueError(
            "serving/canary.yaml: shadow is true, but the cluster canary has no traffic mirroring "
            "(it needs a traffic router such as Istio); set shadow: false to render the Rollout"
        )
    hold = f"{round(config.analysis.interval_seconds)}s"
    steps: list[dict[str, Any]] = []
    for weight in config.steps:
        steps += [{"setWeight": weight}, {"pause": {"duration": hold}}]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": ROLLOUT},
        "spec": {
            "progressDeadlineSeconds": round(config.analysis.progress_deadline_seconds),
            "progressDeadlineAbort": True,
            "strategy": {
                "canary": {
                    "steps": steps,
                    "analysis": {
                        "templates": [{"templateName": TEMPLATE}],
                        "args": [
                            {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
                            {"name": "stable-hash", "valueFrom": {"podTemplateHashValue": "Stable"}},
                        ],
                    },
                }
            },
        },
    }


def render(config: CanaryConfig) -> dict[str, str]:
    """File name -> YAML text, for the two generated files."""

    def dump(document: dict[str, Any]) -> str:
        return HEADER + yaml.safe_dump(document, sort_keys=False, width=200)

    return {
        "canary-strategy.yaml": dump(strategy_patch(config)),
        "canary-analysis.yaml": dump(analysis_template(config)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.rollout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--canary", type=Path, default=CANARY_FILE, help="canary configuration (serving/canary.yaml)")
    parser.add_argument("--out", type=Path, default=BASE, help="where to write (infra/k8s/base)")
    args = parser.parse_args(argv)
    for name, text in render(load_canary_config(args.canary)).items():
        (args.out / name).write_text(text)
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
