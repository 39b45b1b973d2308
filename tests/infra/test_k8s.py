"""The Kubernetes manifests: rendered per environment, checked against their schemas, and
the canary generated from serving/canary.yaml (one source of truth, local or in a cluster)."""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from infra import rollout
from serving.canary import CanaryConfig, load_canary_config
from tests.infra.conftest import K8S, VENV_BIN, node_check_ready

pytestmark = pytest.mark.unit

ENVIRONMENTS = ("dev", "staging", "prod")
ARGO_KINDS = {"Rollout", "AnalysisTemplate"}


@cache
def rendered(environment: str) -> tuple[dict[str, Any], ...]:
    """``kubectl kustomize overlays/<environment>``, offline, as documents."""
    done = subprocess.run(
        [str(VENV_BIN / "kubectl"), "kustomize", str(K8S / "overlays" / environment)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


def argo_check(documents: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    script = node_check_ready()
    return subprocess.run(
        ["node", str(script)], input=json.dumps(documents), capture_output=True, text=True, check=False
    )


def of_kind(documents: tuple[dict[str, Any], ...], kind: str) -> dict[str, Any]:
    (found,) = [d for d in documents if d["kind"] == kind]
    return found


def test_the_generated_canary_files_match_serving_canary_yaml() -> None:
    for name, text in rollout.render(load_canary_config()).items():
        committed = (rollout.BASE / name).read_text()
        assert committed == text, f"infra/k8s/base/{name} is stale: run `make k8s`"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_renders_and_core_kinds_match_the_kubernetes_schemas(environment: str) -> None:
    documents = rendered(environment)
    kinds = {d["kind"] for d in documents}
    assert {"Rollout", "AnalysisTemplate", "Service", "ConfigMap", "ServiceAccount"} <= kinds
    for document in documents:
        if document["kind"] not in ARGO_KINDS:
            kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)
        assert document["metadata"]["namespace"] == f"mlops-{environment}"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_s_rollout_matches_the_argo_rollouts_schema(environment: str) -> None:
    documents = [d for d in rendered(environment) if d["kind"] in ARGO_KINDS]
    checked = argo_check(documents)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": valid") == 3  # the Rollout, its interval checks and its quality gate


def test_the_checkers_reject_broken_manifests() -> None:
    """The schema checks can fail: a wrong type and an unknown core field are caught."""
    documents = rendered("dev")
    broken = json.loads(json.dumps(of_kind(documents, "Rollout")))
    broken["spec"]["strategy"]["canary"]["steps"][0] = {"setWeight": "five"}
    checked = argo_check([broken])
    assert checked.returncode == 1 and "setWeight must be integer" in checked.stdout
    service = json.loads(json.dumps(of_kind(documents, "Service")))
    service["spec"]["portz"] = service["spec"].pop("ports")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(service, kubernetes_validate.latest_version(), strict=True)


def test_the_cluster_canary_follows_the_steps_and_thresholds_of_canary_yaml() -> None:
    config = CanaryConfig.model_validate(
        {
            "steps": [10, 60, 100],
            "analysis": {"interval_seconds": 30, "threshold": 3, "progress_deadline_seconds": 600},
            "metrics": {"min_success_rate": 0.95, "max_p99_latency_ms": 400, "max_p99_latency_ratio": 1.5},
        }
    )
    strategy = rollout.strategy_patch(config)["spec"]
    steps = strategy["strategy"]["canary"]["steps"]
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [10, 60, 100]
    assert {s["pause"]["duration"] for s in steps if "pause" in s} == {"30s"}
    assert strategy["progressDeadlineSeconds"] == 600 and strategy["progressDeadlineAbort"] is True
    metrics = {m["name"]: m for m in rollout.analysis_template(config)["spec"]["metrics"]}
    assert metrics["success-rate"]["successCondition"] == "result[0] >= 0.95"
    assert metrics["p99-latency"]["successCondition"] == "result[0] <= 0.4"
    assert metrics["p99-latency-ratio"]["successCondition"] == "result[0] <= 1.5"
    assert {m["failureLimit"] for m in metrics.values()} == {2}  # the third failed interval aborts
    assert {m["interval"] for name, m in metrics.items() if name != "model-quality"} == {"30s"}
    assert metrics["model-quality"]["interval"] == "60s"  # a job a measurement: at most once a rate window
    (gate,) = rollout.quality_gate(config)["spec"]["metrics"]
    command = gate["provider"]["job"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[-4:] == ["--hold", "510", "--every", "60"]  # 600 s deadline less three 30 s steps


def templates(documents: tuple[dict[str, Any], ...]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == "AnalysisTemplate"}


def test_the_quality_is_a_job_of_the_platform_image_checked_each_interval_and_before_promotion() -> None:
    """The local canary's quality rule, in the cluster: monitoring/quality_check.py run as Argo job metrics."""
    documents = rendered("staging")
    rollout_spec = of_kind(documents, "Rollout")["spec"]
    container = rollout_spec["template"]["spec"]["containers"][0]
    config_map = of_kind(documents, "ConfigMap")["metadata"]["name"]
    found = templates(documents)
    interval = {m["name"]: m for m in found[rollout.TEMPLATE]["spec"]["metrics"]}["model-quality"]
    (gate,) = found[rollout.QUALITY_GATE]["spec"]["metrics"]
    config = load_canary_config()
    for metric, flags in ((interval, ["--inconclusive-passes"]), (gate, ["--hold", "860", "--every", "60"])):
        job = metric["provider"]["job"]["spec"]
        pod = job["template"]["spec"]
        (check,) = pod["containers"]
        assert check["command"] == [
            "python", "-m", "monitoring.quality_check", "--challenger", "{{args.challenger-version}}", *flags
        ]  # fmt: skip
        assert check["image"] == container["image"]  # the image CD built, as the pods
        assert check["envFrom"] == container["envFrom"] and config_map in str(check["envFrom"])  # hash suffix too
        assert pod["restartPolicy"] == "Never" and job["backoffLimit"] == 0  # a verdict is not retried
        kubernetes_validate.validate(
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "q"}, "spec": job},
            kubernetes_validate.latest_version(),
            strict=True,
        )
    # Each interval: only a surely worse challenger fails, `threshold` of them abort, as the other checks.
    assert interval["failureLimit"] == config.analysis.threshold - 1 and interval["interval"] == "60s"
    # Before promotion: one measurement, no failure allowed; it holds what the progress deadline leaves.
    assert gate["count"] == 1 and gate["failureLimit"] == 0
    assert rollout_spec["strategy"]["canary"]["steps"][-1] == {
        "analysis": {
            "templates": [{"templateName": rollout.QUALITY_GATE}],
            "args": [{"name": "challenger-version", "value": ""}],
        }
    }


def test_shadow_traffic_is_refused_rather_than_dropped() -> None:
    with pytest.raises(ValueError, match="shadow"):
        rollout.strategy_patch(CanaryConfig(shadow=True))


def test_no_credentials_in_the_manifests() -> None:
    """Credentials come from the Secret the operator creates; the repo holds none."""
    for environment in ENVIRONMENTS:
        config = of_kind(rendered(environment), "ConfigMap")["data"]
        assert not any("PASSWORD" in k or "SECRET" in k or "KEY" in k for k in config)
        assert not any("@" in v for v in config.values())  # no user:password@host URLs
        env_from = of_kind(rendered(environment), "Rollout")["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert {"secretRef": {"name": "mlops-credentials"}} in env_from
    assert not list(Path(K8S).rglob("*secret*.yaml"))


def cd_render(*variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "k8s-render", "K8S_ENV=prod", "IMAGE_NAME=ghcr.io/acme/credit-service", *variables],
        cwd=K8S.parents[1],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cd_renders_an_environment_with_the_image_it_built() -> None:
    done = cd_render("IMAGE_TAG=0a1b2c3")
    assert done.returncode == 0, done.stderr
    documents = [d for d in yaml.safe_load_all(done.stdout) if d]
    container = of_kind(tuple(documents), "Rollout")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/credit-service:0a1b2c3"
    assert {"name": "MLOPS_MODEL_VERSION", "value": ""} in container["env"]  # unpinned: the champion alias
    assert {d["metadata"]["namespace"] for d in documents} == {"mlops-prod"}


def test_cd_pins_the_model_version_of_the_new_pods_and_their_quality_checks() -> None:
    """MODEL_VERSION is the pods' env: a new pod template, which Argo canaries; the quality job gets it too."""
    done = cd_render("IMAGE_TAG=0a1b2c3", "MODEL_VERSION=12")
    assert done.returncode == 0, done.stderr
    documents = tuple(d for d in yaml.safe_load_all(done.stdout) if d)
    spec = of_kind(documents, "Rollout")["spec"]
    assert {"name": "MLOPS_MODEL_VERSION", "value": "12"} in spec["template"]["spec"]["containers"][0]["env"]
    canary = spec["strategy"]["canary"]
    assert {"name": "challenger-version", "value": "12"} in canary["analysis"]["args"]
    assert canary["steps"][-1]["analysis"]["args"] == [{"name": "challenger-version", "value": "12"}]
    checked = argo_check([d for d in documents if d["kind"] in ARGO_KINDS])
    assert checked.returncode == 0, checked.stdout
    refused = cd_render("IMAGE_TAG=0a1b2c3", "MODEL_VERSION=champion")
    assert refused.returncode == 2 and "registry version number" in refused.stderr
