"""The ecosystem's idioms, one small hand-written repository per idiom: each is recognised for what it is."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from maturity.probes import PROBES
from maturity.scoring import assess
from maturity.target import Target

pytestmark = pytest.mark.unit

TEST_MODULE = {"tests/test_model.py": "def test_model():\n    assert True\n"}


def tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` under ``root`` and put them in git's index (data in git is evidence)."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    return root


def probe(root: Path, name: str, files: dict[str, str]) -> tuple[str, str, str | None]:
    found = PROBES[name].run(Target.open(tree(root, files)))
    return found.status, found.detail, found.where


def workflow(*runs: str) -> str:
    steps = "".join(f"      - run: {run}\n" for run in runs)
    head = "name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
    return f"{head}      - uses: actions/checkout@v4\n{steps}"


GHA = ".github/workflows/ci.yml"
CI_CASES = {
    "mise": {GHA: workflow("mise run test"), "mise.toml": '[tasks.test]\nrun = "uv run pytest"\n'},
    "just": {GHA: workflow("just test"), "justfile": "test:\n    pytest -q\n"},
    "tox": {GHA: workflow("tox -e py311"), "tox.ini": "[testenv]\ncommands = pytest {posargs}\n"},
    "nox": {
        GHA: workflow("nox -s tests"),
        "noxfile.py": "import nox\n@nox.session\ndef tests(s):\n    s.run('pytest')\n",
    },
    "poetry": {GHA: workflow("poetry install", "poetry run pytest")},
    "uv": {GHA: workflow("uv sync", "uv run --frozen pytest -q")},
    "hatch": {
        GHA: workflow("hatch run test:cov"),
        "pyproject.toml": '[tool.hatch.envs.test.scripts]\ncov = "pytest --cov"\n',
    },
    "pdm": {GHA: workflow("pdm run test"), "pyproject.toml": '[tool.pdm.scripts]\ntest = "pytest"\n'},
    "pipenv": {GHA: workflow("pipenv run test"), "Pipfile": '[scripts]\ntest = "python -m pytest"\n'},
    "make": {GHA: workflow("make test"), "Makefile": "test: lint\n\t$(PY) -m pytest\nlint:\n\truff check .\n"},
    "GitLab CI": {".gitlab-ci.yml": "test:\n  script:\n    - make test\n", "Makefile": "test:\n\tpytest\n"},
    "Azure Pipelines": {"azure-pipelines.yml": "steps:\n- script: python -m pytest tests\n  displayName: tests\n"},
    "Jenkins": {"Jenkinsfile": "pipeline {\n  stages { stage('t') { steps { sh 'pytest tests' } } }\n}\n"},
    "CircleCI": {
        ".circleci/config.yml": "jobs:\n  t:\n    steps:\n      - run:\n          name: tests\n"
        "          command: pytest\n"
    },
    "a script": {GHA: workflow("bash ci/run.sh"), "ci/run.sh": "#!/bin/sh\n# the tests\npython -m pytest -q\n"},
}


@pytest.mark.parametrize("runner", sorted(CI_CASES))
def test_ci_is_followed_through_its_task_runner_to_the_tests(tmp_path: Path, runner: str) -> None:
    status, detail, where = probe(tmp_path, "ci", {**CI_CASES[runner], **TEST_MODULE})
    assert status == "pass", detail
    assert "runs the tests" in detail and where is not None


def test_a_ci_that_runs_mise_run_test_is_basic_ci_cd(tmp_path: Path) -> None:
    """The issue's first miss: the tests run through `mise run test`, and that is CI."""
    tree(tmp_path, {**CI_CASES["mise"], **TEST_MODULE, "train.py": "from sklearn.linear_model import Ridge\n"})
    assert assess(tmp_path).score("deployment") == 1


@pytest.mark.parametrize(
    ("runs", "what"),
    [
        (("pip install mkdocs", "mkdocs gh-deploy --force"), "documentation"),
        (("ruff check .", "mypy src"), "linting"),
        (("mise run lint",), "linting"),
    ],
)
def test_a_docs_or_lint_only_workflow_is_not_model_ci(tmp_path: Path, runs: tuple[str, ...], what: str) -> None:
    files = {GHA: workflow(*runs), "mise.toml": '[tasks.lint]\nrun = "ruff check ."\n', **TEST_MODULE}
    status, detail, _ = probe(tmp_path, "ci", files)
    assert status == "fail" and what in detail


def test_a_workflow_that_deploys_the_model_is_model_cd(tmp_path: Path) -> None:
    deploy = "name: cd\non: [push]\njobs:\n  d:\n    steps:\n      - uses: azure/webapps-deploy@v2\n"
    status, detail, _ = probe(tmp_path, "ci", {GHA: deploy})
    assert status == "pass" and "deployment" in detail


def test_tests_that_do_not_exist_are_not_run_by_ci(tmp_path: Path) -> None:
    status, _, _ = probe(tmp_path, "ci", {GHA: workflow("pytest")})
    assert status == "fail"


IDIOMS = [
    ("tracking_code", "mlflow.autolog", "import mlflow\nmlflow.autolog()\n"),
    ("tracking_code", "MLflowLoggerCallback", "from ray.air.integrations.mlflow import MLflowLoggerCallback\n"),
    ("tracking_code", "W&B", "import wandb\nrun = wandb.init(project='x')\n"),
    ("tracking_code", "Neptune", "import neptune\nrun = neptune.init_run()\n"),
    ("tracking_code", "Comet", "import comet_ml\nexperiment = comet_ml.Experiment()\n"),
    ("tracking_code", "ClearML", "from clearml import Task\ntask = Task.init(project_name='x')\n"),
    ("tracking_code", "DVCLive", "from dvclive import Live\nwith Live() as live:\n    live.log_metric('a', 1)\n"),
    ("tracking_code", "ZenML tracker", "from zenml import step\n@step(experiment_tracker='mlflow')\ndef t(): ...\n"),
    ("hpo_code", "Optuna", "import optuna\nstudy = optuna.create_study()\n"),
    ("hpo_code", "Ray Tune", "from ray import tune\ntuner = tune.Tuner(train)\n"),
    ("hpo_code", "Hyperopt", "from hyperopt import fmin, tpe\nbest = fmin(f, space, algo=tpe.suggest)\n"),
    ("hpo_code", "scikit-learn", "from sklearn.model_selection import RandomizedSearchCV\n"),
    ("registry_code", "MLflow", "import mlflow\nmlflow.register_model(uri, 'credit')\n"),
    (
        "registry_code",
        "ZenML",
        "from zenml import get_step_context\nget_step_context().model.set_stage('production')\n",
    ),
    ("registry_code", "SageMaker", "from sagemaker import ModelPackage\nmodel_package_group_name = 'credit'\n"),
    ("registry_code", "Vertex", "from google.cloud import aiplatform\naiplatform.Model.upload(display_name='m')\n"),
    ("registry_code", "Azure ML", "ml_client.models.create_or_update(model)\n"),
    ("validation_code", "Great Expectations", "import great_expectations as gx\ncontext = gx.get_context()\n"),
    ("validation_code", "pandera", "import pandera as pa\nclass Inputs(pa.DataFrameModel): ...\n"),
    ("validation_code", "Deepchecks", "from deepchecks.tabular.suites import data_integrity\n"),
    ("validation_code", "Soda", "from soda.scan import Scan\n"),
    ("validation_code", "whylogs", "import whylogs as why\nprofile = why.log(frame)\n"),
    ("feature_store_config", "Hopsworks", "import hopsworks\nfs = hopsworks.login().get_feature_store()\n"),
    ("feature_store_config", "Tecton", "import tecton\n"),
    ("drift_code", "Evidently", "from evidently import Report\n"),
    ("drift_code", "NannyML", "import nannyml as nml\n"),
    ("drift_code", "Alibi Detect", "from alibi_detect.cd import KSDrift\ndetector = KSDrift(reference)\n"),
    ("serving", "BentoML", "import bentoml\n@bentoml.service\nclass Credit: ...\n"),
    ("serving", "Ray Serve", "from ray import serve\n@serve.deployment\nclass M: ...\n"),
    ("serving", "a web app", "from flask import Flask\nimport joblib\napp = Flask(__name__)\nm = joblib.load('m')\n"),
    ("cards_code", "model card code", "from huggingface_hub import ModelCard\ncard = ModelCard(text)\n"),
    ("fairness", "fairlearn", "from fairlearn.metrics import MetricFrame\nframe = MetricFrame(metrics=m)\n"),
    (
        "gate_config",
        "MLflow thresholds",
        "from mlflow.models import MetricThreshold\nt = MetricThreshold(threshold=0.8)\n",
    ),
    ("model_families", "AutoML", "from flaml import AutoML\nautoml = AutoML()\n"),
]


@pytest.mark.parametrize(("name", "idiom", "code"), IDIOMS, ids=[f"{n}-{i}" for n, i, _ in IDIOMS])
def test_each_idiom_is_recognised_where_it_is_written(tmp_path: Path, name: str, idiom: str, code: str) -> None:
    status, detail, where = probe(tmp_path, name, {"src/job.py": code})
    assert status == "pass", detail
    assert where is not None and where.startswith("src/job.py:")


ORCHESTRATED = [
    ("Prefect", "from prefect import flow\n@flow\ndef features(): ...\n"),
    ("Airflow", "from airflow import DAG\nwith DAG('features') as dag: ...\n"),
    ("Dagster", "import dagster as dg\n@dg.asset\ndef customer_features(): ...\n"),
    ("Kubeflow", "from kfp import dsl\n@dsl.component\ndef build_features(): ...\n"),
    ("ZenML", "from zenml import step\n@step\ndef feature_engineering(): ...\n"),
    ("Metaflow", "from metaflow import FlowSpec, step\nclass Features(FlowSpec): ...\n"),
    ("Flyte", "from flytekit import task, workflow\n@task\ndef features(): ...\n"),
]


@pytest.mark.parametrize(("orchestrator", "code"), ORCHESTRATED, ids=[o for o, _ in ORCHESTRATED])
def test_a_feature_step_of_any_orchestrator_is_automated_feature_engineering(
    tmp_path: Path, orchestrator: str, code: str
) -> None:
    status, detail, _ = probe(tmp_path, "feature_pipeline", {"pipelines/features.py": code})
    assert status == "pass", (orchestrator, detail)


CONFIGS = [
    ("canary_config", "Argo Rollouts", "kind: Rollout\nspec:\n  strategy:\n    canary:\n      steps: []\n"),
    ("canary_config", "Flagger", "apiVersion: flagger.app/v1beta1\nkind: Canary\n"),
    ("canary_config", "KServe canary", "kind: InferenceService\nspec:\n  predictor:\n    canaryTrafficPercent: 10\n"),
    ("canary_config", "Seldon", "kind: SeldonDeployment\nspec:\n  predictors:\n  - traffic: 90\n"),
    ("serving", "KServe", "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\n"),
    (
        "alerting_code",
        "Prometheus rules",
        "groups:\n- name: model\n  rules:\n  - alert: Drift\n    expr: drift > 0.3\n",
    ),
    ("hpo_code", "Katib", "apiVersion: kubeflow.org/v1beta1\nkind: Experiment\n"),
    ("approval_code", "GitLab manual", "deploy:\n  script:\n    - ./deploy.sh\n  when: manual\n"),
    (
        "trigger_policy",
        "monitoring-triggered retraining",
        "retraining_job:\n  task: check_drift\n  run_job_task: train\n",
    ),
]


@pytest.mark.parametrize(("name", "idiom", "text"), CONFIGS, ids=[i for _, i, _ in CONFIGS])
def test_each_configuration_idiom_is_recognised(tmp_path: Path, name: str, idiom: str, text: str) -> None:
    status, detail, _ = probe(tmp_path, name, {"deploy/config.yaml": text})
    assert status == "pass", (idiom, detail)


def test_fairness_is_a_compliance_check_only_where_a_policy_sets_its_bounds(tmp_path: Path) -> None:
    """Bias detection alone is a Level 4 item of the table: reported, not a Level 3 compliance check."""
    report = {"analysis.py": "from fairlearn.metrics import demographic_parity_difference\n"}
    assert probe(tmp_path / "a", "policy", report)[0] == "fail"
    (tmp_path / "b").mkdir()
    rules = {"rules/fairness_policy.yaml": "max_demographic_parity_difference: 0.1\n"}
    assert probe(tmp_path / "b", "policy", rules)[0] == "pass"


def test_feast_needs_its_repository_and_its_definitions(tmp_path: Path) -> None:
    files = {
        "repo/feature_store.yaml": "project: p\n",
        "repo/features.py": "from feast import FeatureView\nv = FeatureView(name='x')\n",
    }
    status, detail, where = probe(tmp_path, "feature_store_config", files)
    assert status == "pass" and "Feast repo" in detail and where == "repo/feature_store.yaml"


def test_a_search_across_model_families_is_model_selection(tmp_path: Path) -> None:
    config = "model_search_space:\n  rf:\n    model_class: RandomForestClassifier\n"
    config += "  lr:\n    model_class: LogisticRegression\n"
    status, detail, _ = probe(tmp_path / "a", "model_families", {"configs/train.yaml": config})
    assert status == "pass" and "logistic_regression, random_forest" in detail
    # Families compared in a hand-written loop are not a selection made by the search.
    loop = "for cls in (RandomForestRegressor, Ridge):\n    cls().fit(x, y)\nsearch = fmin(f, space={'a': 1})\n"
    (tmp_path / "b").mkdir()
    assert probe(tmp_path / "b", "model_families", {"compare.py": loop})[0] == "fail"


def test_pandera_with_data_in_git_is_level_2_data_management(tmp_path: Path) -> None:
    """The issue's third miss: validation with pandera, the data kept in git."""
    files = {
        "data/train.csv": "a,b\n1,2\n",
        "src/schemas.py": "import pandera as pa\nclass Inputs(pa.DataFrameModel):\n    a: int\n",
    }
    assessment = assess(tree(tmp_path, files))
    assert assessment.score("data_management") == 2
    decisive = assessment.components[0].decisive
    assert decisive is not None and decisive.where == "src/schemas.py:1"


def test_tracking_through_an_integrations_logger_is_experiment_tracking(tmp_path: Path) -> None:
    """The issue's second miss: MLflow through Ray's callback, and through autolog."""
    code = "from ray.air.integrations.mlflow import MLflowLoggerCallback\nimport mlflow\nmlflow.sklearn.autolog()\n"
    assert assess(tree(tmp_path, {"train.py": code})).score("model_development") == 1


def test_code_in_prose_comments_or_requirements_is_no_evidence(tmp_path: Path) -> None:
    files = {
        "docs/chapter.md": "Track it:\n\n```python\nimport mlflow\nmlflow.autolog()\n```\n",
        "train.py": "# mlflow.autolog() would track this\nimport sklearn\n",
        "requirements.txt": "mlflow\noptuna\n",
        "notebook.ipynb": '{"cells": [{"cell_type": "markdown", "source": ["mlflow.autolog()"]}]}',
    }
    assert probe(tmp_path, "tracking_code", files)[0] == "fail"


def test_a_notebooks_code_cells_are_code(tmp_path: Path) -> None:
    cells = [
        {"cell_type": "markdown", "source": ["# title"]},
        {"cell_type": "code", "source": ["import optuna\n", "s = optuna.create_study()"]},
    ]
    notebook = json.dumps({"cells": cells})
    status, _, where = probe(tmp_path, "hpo_code", {"explore.ipynb": notebook})
    assert status == "pass" and where == "explore.ipynb:cell 2, line 2"


def test_data_in_git_counts_but_test_fixtures_do_not(tmp_path: Path) -> None:
    assert probe(tmp_path / "a", "data_versioning", {"data/raw/loans.parquet": "x"})[0] == "pass"
    (tmp_path / "b").mkdir()
    assert probe(tmp_path / "b", "data_versioning", {"tests/data/sample.csv": "a\n1\n"})[0] == "fail"


def test_dvc_needs_a_remote(tmp_path: Path) -> None:
    files = {".dvc/config": "[core]\n    analytics = false\n", "data.dvc": "outs:\n- path: data\n"}
    status, detail, _ = probe(tmp_path / "a", "data_versioning", files)
    assert status == "fail" and "names no remote" in detail
    remote = {**files, ".dvc/config": "[core]\n    remote = s3\n['remote \"s3\"']\n    url = s3://bucket/dvc\n"}
    (tmp_path / "b").mkdir()
    assert probe(tmp_path / "b", "data_versioning", remote)[0] == "pass"


def test_docstrings_are_prose_and_pretrained_is_not_retraining(tmp_path: Path) -> None:
    code = (
        '"""Serves the model; upstream, mlflow.autolog() tracked it."""\n'
        "from transformers import AutoModel\n"
        'BUCKET = "monitoring-exercise"\n'
        'model = AutoModel.from_pretrained("bert")\n'
    )
    target = Target.open(tree(tmp_path, {"serve.py": code}))
    assert PROBES["tracking_code"].run(target).status == "fail"
    assert PROBES["trigger_policy"].run(target).status == "fail"


def test_a_template_is_judged_on_what_it_generates(tmp_path: Path) -> None:
    """The repository's own CI tests the template; the generated project ships none: no CI."""
    files = {
        GHA: workflow("pytest tests"),
        "tests/test_generation.py": "def test_generation():\n    assert True\n",
        "{{ cookiecutter.repo_name }}/train.py": "from sklearn.linear_model import Ridge\n",
        "{{ cookiecutter.repo_name }}/tests/test_train.py": "def test_train():\n    assert True\n",
    }
    assessment = assess(tree(tmp_path, files))
    assert assessment.score("deployment") == 0
    assert any("a template: judged on what it generates" in note for note in assessment.scope_notes)
    shipped = {**files, "{{ cookiecutter.repo_name }}/.github/workflows/ci.yml.tmpl": workflow("pytest")}
    (tmp_path / "b").mkdir()
    assert assess(tree(tmp_path / "b", shipped)).score("deployment") == 1


def test_judging_one_folder_of_a_repository_says_so(tmp_path: Path) -> None:
    tree(tmp_path, {"course/week1/train.py": "import mlflow\nmlflow.autolog()\n", "README.md": "a course\n"})
    notes = assess(tmp_path / "course" / "week1").scope_notes
    assert any("judged one folder, course/week1, of the repository" in note for note in notes)


def test_installing_a_test_runner_is_not_running_it(tmp_path: Path) -> None:
    status, _, _ = probe(tmp_path, "ci", {GHA: workflow("pip install pytest tox", "ruff check ."), **TEST_MODULE})
    assert status == "fail"


def test_a_test_run_after_an_install_on_the_same_line_counts(tmp_path: Path) -> None:
    status, _, _ = probe(tmp_path, "ci", {GHA: workflow("pip install pytest && python -m pytest"), **TEST_MODULE})
    assert status == "pass"


def test_invokes_tasks_are_a_task_runner_not_an_orchestrator(tmp_path: Path) -> None:
    code = "from invoke import task\n@task\ndef features(c):\n    c.run('python build_features.py')\n"
    assert probe(tmp_path, "feature_pipeline", {"tasks.py": code})[0] == "fail"


def test_a_feature_step_that_ci_runs_is_automated_feature_engineering(tmp_path: Path) -> None:
    files = {GHA: workflow("echo features next", "python -m invoke engineer --output data/features.csv")}
    status, detail, where = probe(tmp_path, "feature_pipeline", files)
    assert status == "pass" and "runs a feature step" in detail and where == f"{GHA}:9"
