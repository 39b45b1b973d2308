"""The ecosystem's idioms, practice by practice: how a repository shows it does something.

Each practice is a tuple of ``Idiom``s; an idiom is found when a line of the
repository's code or configuration matches one of its patterns (``code``), in a file
that also matches every ``also`` pattern, none of its ``unless`` patterns, and whose path
matches ``path``; or when a file
matching one of its ``files`` globs exists. Comments and prose never count
(``maturity/sources.py``). Tests count only for idioms that say so (data expectations
and model behaviour tests are run as tests).

To recognise a new tool, add an idiom to its practice: nothing else changes.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from maturity import sources
from maturity.target import Target


@dataclass(frozen=True)
class Idiom:
    name: str
    code: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    path: str = ""
    tests: bool = False

    @functools.cached_property
    def pattern(self) -> re.Pattern[str] | None:
        return re.compile("|".join(f"(?:{c})" for c in self.code)) if self.code else None


@dataclass(frozen=True)
class Hit:
    idiom: str
    file: str
    where: str  # "path:line" (or "path:cell N, line M", or the path alone for a file idiom)
    line: str

    def __str__(self) -> str:
        return f"{self.idiom} ({self.where})"


I = Idiom  # noqa: E741  (the table reads better short)
ORCHESTRATOR = (
    r"@flow\b|@task\b|from prefect\b|\bDAG\(|@dag\b|from airflow\b|@asset\b|@op\b|from dagster\b|import dagster"
    r"|@pipeline\b|@step\b|from zenml\b|@dsl\.(pipeline|component)|import kfp|FlowSpec|from metaflow\b"
    r"|@workflow\b|from flytekit\b|from kedro\.pipeline|notebook_task:|python_wheel_task:"
    r"|spark_python_task:|kind:\s*Workflow\b|sagemaker\.workflow|PipelineJob\(|luigi\.Task"
)
FAMILIES = (
    "LogisticRegression|logistic_regression|RandomForest|random_forest|GradientBoosting|gradient_boosting|"
    "DecisionTree|decision_tree|XGB|xgboost|LGBM|lightgbm|LightGBM|CatBoost|catboost|SVC|SVR|KNeighbors|"
    "ExtraTrees|Ridge|Lasso|ElasticNet|LinearRegression|MLPClassifier|MLPRegressor|AdaBoost|GaussianNB"
)

PRACTICES: dict[str, tuple[Idiom, ...]] = {
    "tracking": (
        I("MLflow", (r"\bmlflow\.(start_run|log_\w+|set_experiment|autolog)\(", r"\bmlflow\.\w+\.autolog\(")),
        I("MLflow (an integration's logger)", (r"\bMLflow(Logger)?Callback\b", r"\bMLFlowLogger\b", r"MLflowLogger\b")),
        I("MLflow (through Kedro)", files=("*conf/*mlflow.yml",)),
        I("MLflow (an orchestrator's tracker)", (r"MLFlowExperimentTracker|experiment_tracker\s*=",)),
        I("Weights & Biases", (r"\bwandb\.(init|log)\(", r"\bWandb(Logger|LoggerCallback|Callback)\b")),
        I("Neptune", (r"\bneptune\.(init_run|init)\(", r"\bNeptune(Logger|Callback)\b")),
        I("Comet", (r"\bcomet_ml\.(Experiment|start|init)\b", r"\bComet(Logger|Callback)\b")),
        I("ClearML", (r"\bTask\.init\(",), also=(r"clearml",)),
        I("DVC experiments (DVCLive)", (r"from dvclive\b|import dvclive|\bLive\(", r"\bdvc exp run\b")),
        I("Aim", (r"\baim\.Run\(|from aim import Run",)),
        I("TensorBoard", (r"\bSummaryWriter\(|TensorBoardLogger\b|callbacks\.TensorBoard\(",)),
        I("a trainer reporting to a tracker", (r"report_to\s*=\s*\[?[\"'](mlflow|wandb|comet_ml|neptune)",)),
        I("run records of its own (metrics per run id)", (r"metrics\.json",), also=(r"\brun_id\b",)),
    ),
    "search": (
        I("Optuna", (r"\boptuna\.create_study\(|\bOptunaSearchCV\b|\bstudy\.optimize\(",)),
        I("Ray Tune", (r"\btune\.(Tuner|run|TuneConfig)\(|from ray import tune|from ray\.tune\b",)),
        I("Hyperopt", (r"\bfmin\(|\bHyperOptSearch\b|from hyperopt\b",)),
        I(
            "scikit-learn search",
            (r"\b(GridSearchCV|RandomizedSearchCV|HalvingGridSearchCV|HalvingRandomSearchCV|ParameterGrid)\b",),
        ),
        I("scikit-optimize", (r"\bBayesSearchCV\b|\bgp_minimize\(",)),
        I("Katib", (r"^\s*kind:\s*Experiment\b",), also=(r"kubeflow\.org",)),
        I("a W&B sweep", (r"\bwandb\.sweep\(",)),
        I("KerasTuner", (r"\bkt\.(Hyperband|RandomSearch|BayesianOptimization)\(",)),
        I("a Hydra sweeper", (r"hydra/sweeper:\s*\w+|hydra-optuna-sweeper",)),
    ),
    "selection": (
        I(
            "AutoML",
            (
                r"\b(AutoSklearnClassifier|AutoSklearnRegressor|TPOTClassifier|TPOTRegressor|H2OAutoML)\b",
                r"from flaml import AutoML|\bcompare_models\(|\bTabularPredictor\(|AutoMLTabularTrainingJob",
            ),
        ),
    ),
    "registry": (
        I(
            "MLflow model registry",
            (
                r"\b(register_model|create_model_version|create_registered_model|set_registered_model_alias)\(",
                r"\btransition_model_version_stage\(|registered_model_name\s*=|mlflow_register_model_step",
                r"^\s*registered_models:",
            ),
        ),
        I("ZenML model control plane", (r"\bset_stage\(|\bModelStages\b|zenml model-registry register",)),
        I("SageMaker model registry", (r"ModelPackageGroup|create_model_package|model_package_group_name",)),
        I("Vertex AI model registry", (r"aiplatform\.Model\.upload\(",)),
        I("Azure ML model registry", (r"ml_client\.models\.create_or_update\(|az ml model create",)),
        I("W&B model registry", (r"\blink_model\(|\.link_artifact\(|/model-registry/|wandb-registry-",)),
        I("Hugging Face Hub", (r"\bpush_to_hub\(|repo_type\s*=\s*[\"']model[\"']",)),
        I("a champion pointer of its own", (r"champion\.json",)),
    ),
    "approval": (
        I("a manual step in GitLab CI", (r"^\s*when:\s*manual\b",)),
        I("a manual validation in Azure Pipelines", (r"ManualValidation@",)),
        I("an input step in Jenkins", (r"^\s*input\s*(\(|message)",)),
        I("approvals recorded by people", (r"def approve\(|\bapprovals?\.decide\(",)),
    ),
    "versioning": (
        I("Git LFS", (r"filter=lfs",), path=r"(^|/)\.gitattributes$"),
        I("dataset revisions on the Hugging Face Hub", (r"repo_type\s*=\s*[\"']dataset[\"']",)),
        I("lakeFS", (r"\blakefs\b",)),
        I("Delta time travel", (r"versionAsOf|timestampAsOf",)),
        I("dataset digests logged with runs", (r"\bmlflow\.log_input\(|\bmlflow\.data\.from_\w+\(",)),
        I("datasets identified by a content hash", (r"hashlib\.(sha256|sha1|md5)\(",), also=(r"[Dd]ataset",)),
        I("W&B dataset artifacts", (r"wandb\.Artifact\(.*type\s*=\s*[\"']dataset",)),
        I("ClearML datasets", (r"\bDataset\.create\(",), also=(r"clearml",)),
        I("Kedro versioned datasets", (r"^\s*versioned:\s*true",)),
        I("ZenML's versioned artifacts", (r"from zenml import .*\bpipeline\b|from zenml\.pipelines\b",)),
        I("Metaflow's versioned artifacts", (r"\bFlowSpec\b",), also=(r"metaflow",)),
    ),
    "validation": (
        I(
            "Great Expectations",
            (r"\bimport great_expectations|\bgx\.get_context\(|ExpectationSuite\b|expect_column_",),
        ),
        I("pandera", (r"\bimport pandera|from pandera\b|\bpa\.DataFrameModel\b|\bDataFrameSchema\(",)),
        I("Deepchecks", (r"from deepchecks\b|import deepchecks",)),
        I("Soda", (r"from soda\b|\bsoda scan\b|^\s*checks for \w+:",)),
        I("whylogs", (r"import whylogs|from whylogs\b",)),
        I("TensorFlow Data Validation", (r"tensorflow_data_validation|\btfdv\.",)),
        I("Evidently data-quality checks", (r"DataQuality(Test)?Preset|DataStabilityTestPreset|TestSuite\(",)),
        I("expectations run as tests", (r"great_expectations|\bpandera\b|expect_column_",), tests=True),
    ),
    "feature_pipeline": (
        I(
            "a feature step of an orchestrated pipeline",
            (r"[Ff]eature|[Pp]reprocess",),
            also=(ORCHESTRATOR,),
            unless=(r"from invoke\b|import invoke\b",),  # invoke's @task is a task runner, not an orchestrator
        ),
        I("a feature stage of a DVC pipeline", (r"[Ff]eature|[Pp]reprocess",), path=r"(^|/)dvc\.ya?ml$"),
        I("on-demand feature transformations (Feast)", (r"\bon_demand_feature_view\b|\bstream_feature_view\b",)),
    ),
    "feature_store": (
        I("Feast", (r"\bfeast\.FeatureStore\(|from feast import|\bFeatureStore\(repo_path",)),
        I("Hopsworks", (r"import hopsworks|import hsfs|\.get_feature_store\(",)),
        I("Tecton", (r"import tecton|from tecton\b",)),
        I("Databricks feature engineering", (r"FeatureEngineeringClient\(|FeatureStoreClient\(",)),
        I("SageMaker Feature Store", (r"sagemaker\.feature_store|FeatureGroup\(",)),
        I("Vertex AI Feature Store", (r"aiplatform\.Featurestore|FeatureOnlineStore",)),
    ),
    "quality_monitoring": (
        I("a Databricks quality monitor", (r"^\s*quality_monitors:|create_monitor\(",)),
        I(
            "data checks on served or incoming data",
            (r"DataQuality(Test)?Preset|DatasetMissingValuesMetric|DataQualityTestPreset|whylogs|great_expectations",),
            path=r"(monitor|inference|serving|production)",
        ),
    ),
    "drift": (
        I("Evidently", (r"from evidently\b|import evidently",)),
        I("NannyML", (r"import nannyml|from nannyml\b",)),
        I("Alibi Detect", (r"alibi_detect|\b(KSDrift|MMDDrift|TabularDrift|ChiSquareDrift)\(",)),
        I("whylogs drift", (r"whylogs",), also=(r"drift",)),
        I("Deepchecks drift checks", (r"\b(FeatureDrift|TrainTestFeatureDrift|PredictionDrift|MultivariateDrift)\(",)),
        I("a statistical test for drift", (r"\bks_2samp\(|wasserstein_distance\(|jensenshannon\(",), also=(r"drift",)),
        I("a drift check of its own", (r"def \w*drift\w*\(",)),
        I("a Databricks inference monitor", (r"^\s*inference_log:",)),
        I("a cloud model monitor", (r"DefaultModelMonitor\(|ModelQualityMonitor\(|ModelDeploymentMonitoringJob",)),
    ),
    "alerting": (
        I("Prometheus alert rules", (r"^\s*-?\s*alert:\s*\S",), also=(r"^\s*expr:",)),
        I("an alert raised on drift", (r"(send|post|raise|fire)_?alert|alerter\.post\(",), also=(r"drift",)),
    ),
    "metrics": (
        I("service metrics", (r"prometheus_client|prometheus_fastapi_instrumentator|\bInstrumentator\(",)),
        I("a prediction log", (r"prediction_log|log_prediction|inference_table",)),
    ),
    "retraining": (
        I(
            "retraining started by monitoring",
            (r"\bre-?train(ing|ed)?|trigger_training|TriggerDagRunOperator|run_job_task|RunDeployment\(",),
            also=(r"drift|violat|degrad|monitor",),
        ),
    ),
    "gate": (
        I("MLflow validation thresholds", (r"validate_evaluation_results\(|\bMetricThreshold\(|validation_criteria:",)),
        I("quality gates on metrics", (r"min_\w*(accuracy|auc|score|f1)\w*|quality_gate|fail_on_\w+",)),
        I("behaviour tests of the trained model", (r"def test_",), path=r"(^|/)tests?/model/|behavio", tests=True),
    ),
    "ab": (
        I(
            "a comparison with the model in production",
            (r"\b(champion|baseline_model|current_model|production_model)\b",),
            also=(r"promot|deploy", r"metric|score|auc|rmse|accuracy"),
        ),
        I("weighted traffic between variants", (r"traffic_split|InitialVariantWeight|traffic_percentage|ab_test",)),
    ),
    "canary": (
        I("Argo Rollouts", (r"^\s*kind:\s*Rollout\b",), also=(r"canary",)),
        I("Flagger", (r"^\s*kind:\s*Canary\b|flagger\.app",)),
        I("KServe canary", (r"canaryTrafficPercent",)),
        I("Seldon traffic split", (r"^\s*kind:\s*(SeldonDeployment|Experiment)\b",), also=(r"traffic|candidates",)),
        I("SageMaker deployment guardrails", (r"CanarySize|BlueGreenUpdatePolicy|TrafficRoutingConfiguration",)),
        I("a canary controller", (r"canary",), also=(r"def \w*promot\w*\(", r"def \w*rollback\w*\(")),
    ),
    "rollback": (
        I("automated rollback", (r"AutoRollbackConfiguration|auto_rollback|rollback_on_failure|failureLimit",)),
        I("a rollback step", (r"def \w*rollback\w*\(",), also=(r"canary|health|error_rate|threshold",)),
    ),
    "cards": (
        I("a model card", files=("*model_card*", "*model-card*", "*modelcard*")),
        I("model card code", (r"model_card_toolkit|\bModelCard(Data)?\(",)),
        I("a model's card in its configuration", (r"^\s*ethics:",), also=(r"^\s*(use_cases|audience):",)),
    ),
    "compliance": (
        I("policy as code", (r"\.rego\b|opa eval|conftest test",), files=("*.rego", "*governance/policy.y*ml")),
        I("fairness thresholds in a policy", (r"demographic_parity|equalized_odds|disparate_impact",), path=r"polic"),
        I("a model scan", (r"giskard\.scan\(|RAIInsights\(",)),
    ),
    "fairness": (
        I("fairness metrics (bias detection)", (r"\bfairlearn\b|\baif360\b|MetricFrame\(|demographic_parity",)),
    ),
    "serving": (
        I("BentoML", (r"@bentoml\.service|bentoml\.Service\(",)),
        I("KServe", (r"^\s*kind:\s*InferenceService\b",)),
        I("Seldon", (r"^\s*kind:\s*SeldonDeployment\b|seldon_core",)),
        I("Ray Serve", (r"@serve\.deployment|from ray import serve",)),
        I("MLflow serving", (r"mlflow models serve|mlflow\.deployments|build-docker",)),
        I(
            "a web app that loads a model",
            (r"FastAPI\(|Flask\(__name__\)|gr\.Interface\(|st\.(title|write)\(",),
            also=(r"load_model|joblib\.load|pickle\.load|\.load\(|from_pretrained",),
        ),
    ),
    "model_code": (
        I(
            "machine-learning code",
            (
                r"\bfrom sklearn\b|\bimport (sklearn|torch|tensorflow|keras|xgboost|lightgbm|catboost|statsmodels)\b",
                r"\bfrom (tensorflow|keras|xgboost|lightgbm|catboost|transformers|torch)\b",
                r"\blibrary\((glmnet|randomForest|caret|rpart|xgboost|e1071|nnet|gbm|ranger)\)|\bglmnet\(|\blm\(",
            ),
        ),
    ),
}


def _file_hit(t: Target, idiom: Idiom) -> Hit | None:
    for path in t.code_files() + [p for p in t._listing if not sources.is_code(p)]:
        relative = t.rel(path)
        name = sources.logical_name(relative).lower()
        if not sources.is_test(relative) and any(fnmatch.fnmatch(name, g.lower()) for g in idiom.files):
            return Hit(idiom.name, relative, relative, "")
    return None


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE)


def _also(t: Target, idiom: Idiom, path: Path) -> bool:
    text = "\n".join(line for _, line in t.lines(path))
    return all(_compiled(a).search(text) for a in idiom.also) and not any(
        _compiled(u).search(text) for u in idiom.unless
    )


def find(t: Target, practice: str) -> list[Hit]:
    """The practice's idioms found in the repository, one hit (the first) per idiom, in the table's order."""
    hits: list[Hit] = []
    for idiom in PRACTICES[practice]:
        hit = _file_hit(t, idiom) if idiom.files else None
        if hit is None and idiom.pattern is not None:
            hit = _code_hit(t, idiom)
        if hit is not None:
            hits.append(hit)
    return hits


def _code_hit(t: Target, idiom: Idiom) -> Hit | None:
    assert idiom.pattern is not None  # noqa: S101  (callers check)
    for path in t.code_files(tests=idiom.tests):
        relative = t.rel(path)
        if idiom.tests and not sources.is_test(relative):
            continue
        if idiom.path and not re.search(idiom.path, relative, re.IGNORECASE):
            continue
        for where, line in t.lines(path):
            if idiom.pattern.search(line) and (not (idiom.also or idiom.unless) or _also(t, idiom, path)):
                return Hit(idiom.name, relative, f"{relative}:{where}", line.strip()[:120])
    return None
