"""Render the cluster canary (Argo Rollouts) from ``serving/canary.yaml``.

One source of truth for steps and thresholds: the local controller (serving/controller.py)
and a cluster's Argo Rollouts controller read the same file. In a cluster the canary is
between pod templates, each pinned to a registry version (``MLOPS_MODEL_VERSION`` in the
Rollout's env, set by ``make k8s-render MODEL_VERSION=``): the new pods serve the
challenger, the stable pods the champion. This module writes two kustomize inputs into
``infra/k8s/base/``, both generated, never edited by hand:

* ``canary-strategy.yaml``, a patch that gives the Rollout its canary steps (each
  weight held for one analysis interval, as the local controller does), a last step
  that gates promotion on the model's quality, and its progress deadline;
* ``canary-analysis.yaml``, two ``AnalysisTemplate``s. The first judges the canary pods
  every interval on the service's own Prometheus metrics (success rate, p99 latency,
  p99 relative to the stable pods) and, through a ``job`` metric running
  ``monitoring/quality_check.py`` in the platform image, on quality: the paired ROC AUC
  comparison of the local canary, once enough labels have arrived (until then it
  passes, as locally). ``threshold`` failed intervals abort the rollout. The second is
  the quality gate of the last step: no promotion while the comparison is not told apart.

Argo reads a Job as Successful (exit 0) or Failed (any other exit): a job metric is never
Inconclusive, so ``inconclusiveLimit`` has nothing to count. The local verdict
"inconclusive" (stay on the step; at the deadline, park: the champion answers everyone)
becomes: each interval's job passes it (``--inconclusive-passes``, it looks for a surely
worse challenger only), and the gate's job re-checks it until the progress deadline
would pass, then exits 2: Failed, so the Rollout aborts and the stable pods answer everyone.

What does not carry over is refused or said, not dropped silently: shadow traffic needs
a traffic router that mirrors requests (refused here).

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
QUALITY_GATE = "credit-service-quality"
# The canary pods' model version, passed to the quality job. Empty here: the job then takes the registry's
# challenger alias. `make k8s-render MODEL_VERSION=n` sets it with the pods' MLOPS_MODEL_VERSION (infra/README.md).
CHALLENGER_ARG: dict[str, Any] = {"name": "challenger-version", "value": ""}
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


def quality_job(config: CanaryConfig, flags: list[str], deadline_seconds: int) -> dict[str, Any]:
    """A ``job`` metric provider: ``monitoring/quality_check.py`` in the platform image, as the service's pods run.

    The image, the ConfigMap and the Secret are the Rollout's (kustomize sets the image tag
    and the ConfigMap's hash suffix in both: kustomize-config.yaml). A verdict is not
    retried (``backoffLimit: 0``); ``activeDeadlineSeconds`` fails a check that hangs.
    """
    command = ["python", "-m", "monitoring.quality_check", "--challenger", "{{args.challenger-version}}", *flags]
    return {
        "job": {
            "spec": {
                "backoffLimit": 0,
                "activeDeadlineSeconds": deadline_seconds,
                "template": {
                    "spec": {
                        "serviceAccountName": ROLLOUT,
                        "restartPolicy": "Never",
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 1034,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": "quality-check",
                                "image": ROLLOUT,
                                "workingDir": "/home/bentoml/bento/src",  # the bento's code (bentofile.yaml)
                                "command": command,
                                "envFrom": [
                                    {"configMapRef": {"name": f"{ROLLOUT}-config"}},
                                    {"secretRef": {"name": "mlops-credentials"}},
                                ],
                                "resources": {
                                    "requests": {"cpu": "250m", "memory": "768Mi"},
                                    "limits": {"memory": "1536Mi"},
                                },
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                                "volumeMounts": [{"name": "state", "mountPath": STATE_MOUNT}],
                            }
                        ],
                        "volumes": [{"name": "state", "emptyDir": {}}],
                    }
                },
            }
        }
    }


def _quality_hold(config: CanaryConfig) -> int:
    """How long the gate re-checks an inconclusive quality: what the progress deadline leaves after the steps."""
    steps = len(config.steps) * round(config.analysis.interval_seconds)
    return max(0, round(config.analysis.progress_deadline_seconds) - steps)


# The pods' MLOPS_STATE_DIR (kustomization.yaml's ConfigMap): an emptyDir inside the container, not a host folder.
STATE_MOUNT = "/tmp/mlops-state"  # noqa: S108
JOB_SLACK_SECONDS = 600  # a quality job's start (image pull, both models from the registry) before it hangs


def quality_gate(config: CanaryConfig) -> dict[str, Any]:
    """The AnalysisTemplate of the last step: no promotion while the quality is not told apart.

    One measurement (``count: 1``, no failure allowed). The job re-checks an inconclusive
    comparison every window for what the progress deadline leaves, then exits 2, which
    Argo reads as Failed: the Rollout aborts and the stable pods (the champion) answer
    everyone, where the local controller parks the challenger the same way.
    """
    hold, every = _quality_hold(config), _window(config).removesuffix("s")
    flags = ["--hold", str(hold), "--every", every]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": QUALITY_GATE},
        "spec": {
            "args": [{"name": "challenger-version"}],
            "metrics": [
                {
                    "name": "model-quality-gate",
                    "count": 1,
                    "failureLimit": 0,
                    "provider": quality_job(config, flags, hold + JOB_SLACK_SECONDS),
                }
            ],
        },
    }


def analysis_template(config: CanaryConfig) -> dict[str, Any]:
    """The per-interval checks of ``metrics`` in canary.yaml: Prometheus queries, and the quality job."""
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

    # Labels arrive late: until `min_labelled` of them, the job passes (quality not judged), as locally.
    # Each interval it fails only on a challenger surely worse; inconclusive is the last step's (quality_gate).
    quality = {
        "name": "model-quality",
        "interval": window,  # a job a measurement: a pod, both models loaded; not more often than the window
        "failureLimit": config.analysis.threshold - 1,
        "provider": quality_job(config, ["--inconclusive-passes"], JOB_SLACK_SECONDS),
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": TEMPLATE},
        "spec": {
            "args": [
                {"name": "canary-hash"},
                {"name": "stable-hash"},
                {"name": "challenger-version"},
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
                quality,
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
    # The pinned version of the new pods, for the quality job: `make k8s-render MODEL_VERSION=` sets it.
    steps.append({"analysis": {"templates": [{"templateName": QUALITY_GATE}], "args": [dict(CHALLENGER_ARG)]}})
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
                            dict(CHALLENGER_ARG),
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
        "canary-analysis.yaml": dump(analysis_template(config)) + "---\n" + dump(quality_gate(config)),
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
