"""File probes: a practice present and configured in what the repository ships.

Most probes look for the ecosystem's idioms (``maturity/idioms.py``); a project of this
template is also read through its ``params.yaml`` (gate, search space, trigger policy,
policy file). Each probe answers (passed, detail, where): ``where`` is the decisive file
and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import yaml

from maturity import ci, idioms, sources
from maturity.evidence import listed
from maturity.target import NOT_EVIDENCE, Target

Found = tuple[bool, str, str | None]


def from_idioms(practice: str, missing: str) -> Callable[[Target], Found]:
    """A probe that passes on the first idiom of ``practice`` found, naming it and where it is."""

    def check(t: Target) -> Found:
        hits = idioms.find(t, practice)
        if not hits:
            return False, missing, None
        also = ", ".join(h.idiom for h in hits[1:3])
        return True, f"{hits[0].idiom} in {hits[0].where}" + (f"; also {also}" if also else ""), hits[0].where

    return check


def either(*checks: Callable[[Target], Found]) -> Callable[[Target], Found]:
    """The first check that passes; otherwise every check's reason."""

    def check(t: Target) -> Found:
        answers = [c(t) for c in checks]
        passed = next((a for a in answers if a[0]), None)
        return passed or (False, "; ".join(a[1] for a in answers), None)

    return check


def git_history(t: Target) -> Found:
    head = t.git("rev-parse", "--short", "HEAD")
    if head is None:
        return False, "not a git repository with a commit", None
    count = t.git("rev-list", "--count", "HEAD") or "?"
    return True, f"git repository, {count} commit(s), HEAD {head}", None


def test_modules(t: Target) -> list[Path]:
    found = []
    for path in t.code_files(tests=True):
        name = sources.logical_name(path.name)
        text = t.text(path)
        if re.match(r"(test_.*|.*_test)\.(py|R)$", name) and re.search(r"def test_|class Test|test_that\(", text):
            found.append(path)
    features = [p for p in t._listing if p.suffix == ".feature" and "Scenario" in t.text(p)]
    return found + features


def automated_tests(t: Target) -> Found:
    tests = test_modules(t)
    if not tests:
        return False, "no test modules", None
    return True, f"{len(tests)} test module(s), e.g. {listed(t, tests, 2)}", t.rel(tests[0])


def ci_config(t: Target) -> Found:
    """A CI file whose commands (through one level of task runner) test, train or deploy the model."""
    files = ci.ci_files(t)
    if not files:
        return False, "no CI configuration (GitHub Actions, GitLab CI, Azure Pipelines, Jenkins, CircleCI...)", None
    has_tests = bool(test_modules(t))
    seen: list[str] = []
    for system, path, command, step in ci.steps(t, files):
        kinds = ci.kinds(step.text) - ({"tests"} if not has_tests else set())
        model = [k for k in ci.MODEL_KINDS if k in kinds]
        if model:
            via = f" (through {command.text} -> {step.via})" if step is not command and step.via else ""
            detail = f"{system} {t.rel(path)} runs the {model[0]}: `{step.text[:80]}` at {step.where}{via}"
            return True, detail, command.where
        seen += sorted(kinds)
    what = ", ".join(sorted(set(seen))) or "nothing recognisable"
    return False, f"CI ({listed(t, [p for _, p in files])}) runs {what}: no tests, training or deployment", None


def _dvc(t: Target) -> Found | None:
    configs = [t.root / ".dvc" / "config", t.root / ".dvc" / "config.local"]
    text = "\n".join(t.text(p) for p in configs if p.exists())
    if not text:
        return None
    remote = re.search(r"\[\s*'?remote\s+\"([^\"]+)\"'?\s*\]\s*\n\s*url\s*=\s*(\S+)", text)
    tracked = [p for p in t._listing if p.suffix == ".dvc" or p.name == "dvc.yaml"]
    if remote is None:
        return False, ".dvc/config names no remote: versions could not leave this machine", None
    if not tracked:
        return False, "DVC configured, but no .dvc file or dvc.yaml tracks anything", None
    return True, f"DVC remote '{remote.group(1)}' ({remote.group(2)}); tracks {listed(t, tracked)}", t.rel(tracked[0])


def data_versioning(t: Target) -> Found:
    """DVC with a remote, data files in git, Git LFS, dataset revisions, versioned artifacts."""
    dvc = _dvc(t)
    if dvc is not None and dvc[0]:
        return dvc
    data_first = re.compile(r"(^|/)(data|datasets?)/", re.IGNORECASE)
    in_git = [
        p
        for p in sorted(t.tracked, key=lambda p: (not data_first.search(t.rel(p)), t.rel(p)))
        if p.suffix.lower() in sources.DATA_SUFFIXES
        and (not t.scope.roots or t.scope.covers(p))
        and not sources.is_test(t.rel(p))
        and not sources.SAMPLE_PATH.search(t.rel(p))
        and not t.rel(p).startswith(NOT_EVIDENCE)
    ]
    if in_git:
        return True, f"{len(in_git)} data file(s) in git, e.g. {listed(t, in_git, 2)}", t.rel(in_git[0])
    found = from_idioms("versioning", "no data versioning (DVC, data in git, LFS, dataset revisions)")(t)
    return found if found[0] or dvc is None else (False, f"{dvc[1]}; {found[1]}", None)


FEATURE_STEP = re.compile(r"\b(features?|engineer\w*|preprocess\w*)\b", re.IGNORECASE)


def feature_engineering_code(t: Target) -> Found:
    """A feature step of an orchestrated pipeline, or one that CI runs (continuous training)."""
    found = from_idioms("feature_pipeline", "no feature engineering inside an automated pipeline")(t)
    if found[0]:
        return found
    for system, path, _, step in ci.steps(t, ci.ci_files(t)):
        if FEATURE_STEP.search(step.text) and not re.match(r"\s*(echo|print|#|name:)", step.text):
            return True, f"{system} {t.rel(path)} runs a feature step: `{step.text[:80]}` at {step.where}", step.where
    return found


def feature_store_config(t: Target) -> Found:
    configs = [p for p in t._listing if sources.logical_name(p.name) == "feature_store.yaml"]
    definitions = t.mentions("FeatureView(", "FeatureService(")
    if configs and definitions:
        return True, f"Feast repo {listed(t, configs)}; definitions in {listed(t, definitions)}", t.rel(configs[0])
    return from_idioms("feature_store", "no feature store (Feast, Hopsworks, Tecton, Databricks...)")(t)


FAMILY_NAMES = {
    "logistic_regression": r"LogisticRegression|logistic_regression",
    "random_forest": r"RandomForest|random_forest",
    "gradient_boosting": r"(Hist)?GradientBoosting|gradient_boosting",
    "decision_tree": r"DecisionTree|decision_tree",
    "xgboost": r"XGB|xgboost",
    "lightgbm": r"LGBM|lightgbm|LightGBM",
    "catboost": r"CatBoost|catboost",
    "svm": r"\bSV[CR]\b|LinearSV[CR]",
    "knn": r"KNeighbors",
    "linear": r"\b(Ridge|Lasso|ElasticNet|LinearRegression)\b",
    "neural_network": r"MLP(Classifier|Regressor)",
}
SEARCH_SPACE = re.compile(r"hp\.choice\(|suggest_categorical\(|tune\.(choice|grid_search)\(|param_grid|search_space")


def _families(text: str) -> list[str]:
    return sorted(name for name, pattern in FAMILY_NAMES.items() if re.search(pattern, text))


def _spaces(tree: object, inside: bool = False) -> list[str]:
    """The texts of configuration subtrees named like a search space (``space``, ``search``, ``candidates``)."""
    if isinstance(tree, dict):
        found = []
        for key, value in tree.items():
            named = inside or bool(re.search(r"space|search|candidates", str(key), re.IGNORECASE))
            found += [yaml.safe_dump(value)] if named and not inside else _spaces(value, named)
        return found
    if isinstance(tree, list):
        return [text for item in tree for text in _spaces(item, inside)]
    return []


def model_families(t: Target) -> Found:
    """One automated search across model families (or AutoML), not several families compared by hand."""
    if t.settings is not None:
        families = sorted(str(f) for f in t.settings.training.search.space)
        if len(families) < 2:
            return False, f"the search covers {len(families)} model family", None
        return True, f"params.yaml training.search.space selects among {', '.join(families)}", "params.yaml"
    automl = from_idioms("selection", "")(t)
    if automl[0]:
        return automl
    for path in t.code_files():
        suffix = sources.logical_suffix(path)
        if suffix in {".yaml", ".yml"}:
            for space in _spaces(sources.load_yaml(t.text(path))):
                if len(found := _families(space)) >= 2:
                    return True, f"a search space over {', '.join(found)} in {t.rel(path)}", t.rel(path)
        elif suffix in {".py", ".ipynb"}:
            lines = t.lines(path)
            for index, (where, line) in enumerate(lines):
                window = "\n".join(text for _, text in lines[index : index + 12])
                if SEARCH_SPACE.search(line) and len(found := _families(window)) >= 2:
                    return True, f"a search over {', '.join(found)} at {t.rel(path)}:{where}", f"{t.rel(path)}:{where}"
    return (
        False,
        "no automated selection across model families (one family searched, or families compared by hand)",
        None,
    )


def gate_config(t: Target) -> Found:
    if t.settings is not None:
        gate = t.settings.gate
        rules = len(gate.minimums) + len(gate.maximums) + len(gate.slices)
        if rules and not gate.dry_run:
            detail = f"params.yaml gate: {rules} thresholds, min_improvement {gate.min_improvement} over the champion"
            return True, detail, "params.yaml"
        return False, "params.yaml gate has no thresholds, or runs dry", None
    return from_idioms("gate", "no automated model validation (thresholds or comparison that decide)")(t)


def canary_config(t: Target) -> Found:
    for path in [p for p in t._listing if p.name in {"canary.yaml", "canary.yml"}]:
        config = yaml.safe_load(t.text(path)) or {}
        steps, analysis = config.get("steps"), config.get("analysis") or {}
        if steps and analysis.get("threshold") and t.mentions("def rollback"):
            detail = f"{t.rel(path)}: steps {steps}, rollback after {analysis['threshold']} failed intervals"
            return True, detail, t.rel(path)
    return from_idioms("canary", "no canary or progressive delivery (Argo Rollouts, Flagger, KServe canary...)")(t)


def trigger_policy(t: Target) -> Found:
    if t.settings is not None:
        tree = yaml.safe_load((t.settings.params_file).read_text()) or {}
        monitoring = tree.get("monitoring") or {}
        trigger = {k: v for k, v in monitoring.items() if "trigger" in k or "retrain" in k or "threshold" in k}
        if not trigger:
            return False, "params.yaml has no monitoring trigger policy", None
        return True, f"params.yaml monitoring: {', '.join(sorted(trigger))}", "params.yaml"
    return from_idioms("retraining", "no retraining started by monitoring (drift or a metric's violation)")(t)


def policy_file(t: Target) -> Found:
    path = t.root / "governance" / "policy.yaml"
    if t.settings is not None and t.settings.governance.policy_file is not None:
        path = t.settings.policy_file  # configured in params.yaml, relative to the repository
    if path.exists():
        policy = yaml.safe_load(t.text(path))
        if isinstance(policy, dict) and policy:
            return True, f"{t.rel(path)}: {', '.join(sorted(policy)[:6])}", t.rel(path)
    return from_idioms("compliance", "no automated compliance checks (policy as code, fairness checks)")(t)


def documentation(t: Target) -> Found:
    """A README (or report) that documents a model the repository actually has."""
    roots = list(t.scope.roots) or [t.root]
    names = ("README.md", "README.rst", "README", "README.md.tmpl", "README.txt")
    readmes = [r / n for r in roots for n in names if (r / n).is_file() and len(t.text(r / n)) >= 300]
    if not readmes:
        return False, "no README describing the model", None
    model = idioms.find(t, "model_code")
    if not model:
        return False, f"{t.rel(readmes[0])} documents no model: the repository ships no machine-learning code", None
    return (
        True,
        f"{t.rel(readmes[0])} ({len(t.text(readmes[0]))} characters); the model: {model[0].where}",
        t.rel(readmes[0]),
    )


tracking_code = from_idioms("tracking", "no experiment tracking (MLflow, W&B, Neptune, Comet, ClearML, DVCLive...)")
validation_code = from_idioms("validation", "no data validation (Great Expectations, pandera, Deepchecks, Soda...)")
quality_monitoring = from_idioms("quality_monitoring", "no automated data-quality checks on incoming data")
hpo_code = from_idioms("search", "no automated hyper-parameter search (Optuna, Ray Tune, Hyperopt, sklearn)")
registry_code = from_idioms("registry", "no model registry (MLflow, ZenML, SageMaker, Vertex, Azure ML...)")
approval_code = from_idioms("approval", "no manual approval step before production")
ab_code = from_idioms("ab", "no comparison with the model in production, no A/B traffic split")
rollback_code = from_idioms("rollback", "no automated rollback")
drift_code = from_idioms("drift", "no drift detection (Evidently, NannyML, Alibi Detect, whylogs...)")
alerting_code = from_idioms("alerting", "no alert rules on the model or its data")
cards_code = from_idioms("cards", "no model card")
fairness_code = from_idioms("fairness", "no fairness metrics")
serving_code = from_idioms("serving", "no serving code (BentoML, KServe, Seldon, Ray Serve, a web app...)")
metrics_code = either(
    from_idioms("tracking", "no tracked metrics"),
    from_idioms("metrics", "no service metrics or prediction log"),
    from_idioms("drift", "no monitoring library"),
)
