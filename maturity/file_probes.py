"""File probes: a practice present and configured in the repository's files."""

from __future__ import annotations

import re

import yaml

from maturity.evidence import CI_FILES, listed
from maturity.target import Target


def git_history(t: Target) -> tuple[bool, str]:
    head = t.git("rev-parse", "--short", "HEAD")
    if head is None:
        return False, "not a git repository with a commit"
    count = t.git("rev-list", "--count", "HEAD") or "?"
    return True, f"git repository, {count} commit(s), HEAD {head}"


def automated_tests(t: Target) -> tuple[bool, str]:
    tests = [p for p in t.files() if re.match(r"(test_.*|.*_test)\.py$", p.name) and "def test_" in t.text(p)]
    return bool(tests), f"{len(tests)} test module(s), e.g. {listed(t, tests, 2)}" if tests else "no test modules"


def ci_config(t: Target) -> tuple[bool, str]:
    found = sorted({p for pattern in CI_FILES for p in t.root.glob(pattern) if p.is_file()})
    running = [p for p in found if re.search(r"pytest|make test|tox|nox", t.text(p))]
    if not running:
        return False, "no CI configuration that runs the tests" + (f" ({listed(t, found)})" if found else "")
    return True, f"CI runs the tests: {listed(t, running)}"


def tracking_code(t: Target) -> tuple[bool, str]:
    users = t.mentions("mlflow.start_run", "mlflow.log_", "wandb.init", "neptune.init")
    return bool(users), f"experiment tracking in {listed(t, users)}" if users else "no experiment-tracking calls"


def dvc_config(t: Target) -> tuple[bool, str]:
    configs = [t.root / ".dvc" / "config", t.root / ".dvc" / "config.local"]
    text = "\n".join(t.text(p) for p in configs if p.exists())
    if not text:
        return False, "no .dvc/config"
    remote = re.search(r"\[\s*'?remote\s+\"([^\"]+)\"'?\s*\]\s*\n\s*url\s*=\s*(\S+)", text)
    tracked = [p for p in t._listing if p.suffix == ".dvc" or p.name == "dvc.yaml"]
    if remote is None:
        return False, ".dvc/config names no remote: versions could not leave this machine"
    if not tracked:
        return False, "DVC configured, but no .dvc file or dvc.yaml tracks anything"
    return True, f"remote '{remote.group(1)}' ({remote.group(2)}); tracks {listed(t, tracked)}"


def validation_code(t: Target) -> tuple[bool, str]:
    users = t.mentions("great_expectations", "pandera", "ExpectationSuite")
    return bool(users), f"data validation in {listed(t, users)}" if users else "no data-validation library in use"


def feature_engineering_code(t: Target) -> tuple[bool, str]:
    flows = t.mentions("@flow", "DAG(", "@dag", "@pipeline")
    engineering = [p for p in flows if re.search(r"feature", t.text(p), re.IGNORECASE)]
    if not engineering:
        return False, "no orchestrated pipeline with a feature step"
    return True, f"feature engineering inside the pipeline: {listed(t, engineering)}"


def hpo_code(t: Target) -> tuple[bool, str]:
    users = t.mentions("ParameterGrid", "GridSearchCV", "RandomizedSearchCV", "optuna", "hyperopt")
    return bool(users), f"hyper-parameter search in {listed(t, users)}" if users else "no hyper-parameter search"


def registry_code(t: Target) -> tuple[bool, str]:
    users = t.mentions("create_model_version", "register_model", "set_registered_model_alias")
    return bool(users), f"model registry used in {listed(t, users)}" if users else "no model registry in code"


def model_families(t: Target) -> tuple[bool, str]:
    families: list[str]
    if t.settings is not None:
        families = sorted(str(f) for f in t.settings.training.search.space)
    else:
        known = ("LogisticRegression", "GradientBoosting", "RandomForest", "XGB", "LGBM", "SVC")
        searching = t.mentions("ParameterGrid", "GridSearchCV", "RandomizedSearchCV", "optuna")
        families = sorted({k for k in known for p in searching if k in t.text(p)})
    if len(families) < 2:
        return False, f"the search covers {len(families)} model family"
    return True, f"the search selects among {', '.join(families)}"


def gate_config(t: Target) -> tuple[bool, str]:
    if t.settings is not None:
        gate = t.settings.gate
        rules = len(gate.minimums) + len(gate.maximums) + len(gate.slices)
        if rules and not gate.dry_run:
            return (
                True,
                f"params.yaml gate: {rules} thresholds, min_improvement {gate.min_improvement} over the champion",
            )
        return False, "params.yaml gate has no thresholds, or runs dry"
    users = t.mentions("def judge", "validation_gate", "model_validation")
    return bool(users), f"a validation gate in {listed(t, users)}" if users else "no model validation gate"


def feature_store_config(t: Target) -> tuple[bool, str]:
    configs = [p for p in t._listing if p.name == "feature_store.yaml"]
    definitions = t.mentions("FeatureView(", "FeatureService(")
    if not configs or not definitions:
        return False, "no Feast repository (feature_store.yaml and feature views)"
    return True, f"Feast repo {listed(t, configs)}; definitions in {listed(t, definitions)}"


def canary_config(t: Target) -> tuple[bool, str]:
    for path in [p for p in t._listing if p.name in {"canary.yaml", "canary.yml"}]:
        config = yaml.safe_load(t.text(path)) or {}
        steps, analysis = config.get("steps"), config.get("analysis") or {}
        if steps and analysis.get("threshold"):
            rollbacks = t.mentions("def rollback")
            if rollbacks:
                return True, f"{t.rel(path)}: steps {steps}, rollback after {analysis['threshold']} failed intervals"
    return False, "no canary configuration with steps, analysis and a rollback"


def drift_code(t: Target) -> tuple[bool, str]:
    users = t.mentions("evidently", "DataDriftPreset", "alibi_detect", "nannyml")
    return bool(users), f"drift detection in {listed(t, users)}" if users else "no drift-detection code"


def trigger_policy(t: Target) -> tuple[bool, str]:
    if t.settings is None:
        return False, "no params.yaml with a monitoring section"
    tree = yaml.safe_load((t.settings.params_file).read_text()) or {}
    monitoring = tree.get("monitoring") or {}
    trigger = {k: v for k, v in monitoring.items() if "trigger" in k or "retrain" in k or "threshold" in k}
    if not trigger:
        return False, "params.yaml has no monitoring trigger policy"
    return True, f"params.yaml monitoring: {', '.join(sorted(trigger))}"


def policy_file(t: Target) -> tuple[bool, str]:
    path = t.root / "governance" / "policy.yaml"
    if t.settings is not None and t.settings.governance.policy_file is not None:
        path = t.settings.policy_file  # configured in params.yaml, relative to the repository
    if not path.exists():
        return False, f"no policy file ({t.rel(path)})"
    policy = yaml.safe_load(t.text(path))
    if not isinstance(policy, dict) or not policy:
        return False, f"{t.rel(path)} holds no rules"
    return True, f"{t.rel(path)}: {', '.join(sorted(policy)[:6])}"


def documentation(t: Target) -> tuple[bool, str]:
    readme = next((p for p in (t.root / "README.md", t.root / "README.rst", t.root / "README") if p.exists()), None)
    if readme is None or len(t.text(readme)) < 300:
        return False, "no README describing the model"
    return True, f"{t.rel(readme)} ({len(t.text(readme))} characters)"
