"""The maturity model as data: its components, its component table and its roadmap.

Transcribed from the model's text (section 3, "MLOps Components by Maturity Level",
and section 5, "Implementation Roadmap"). The assessment scores against ``TABLE`` and
takes its next steps from ``ROADMAP``: reaching Level n is Phase n's work.
"""

from __future__ import annotations

from typing import Literal

Component = Literal["data_management", "model_development", "deployment", "monitoring", "governance"]
COMPONENTS: tuple[Component, ...] = ("data_management", "model_development", "deployment", "monitoring", "governance")
TITLES: dict[Component, str] = {
    "data_management": "Data management",
    "model_development": "Model development",
    "deployment": "Deployment",
    "monitoring": "Monitoring",
    "governance": "Governance",
}
LEVEL_NAMES = {
    0: "No MLOps",
    1: "DevOps for ML",
    2: "Automated ML",
    3: "Mature MLOps",
    4: "AI-First Organization",
}

TABLE: dict[Component, tuple[str, str, str, str, str]] = {
    "data_management": (
        "Manual data processing, no versioning",
        "Basic data versioning, manual feature engineering",
        "Automated feature engineering, data validation",
        "Feature stores, automated data quality monitoring",
        "Automated data labeling, active learning",
    ),
    "model_development": (
        "Manual experimentation, no tracking",
        "Basic experiment tracking, manual hyperparameter tuning",
        "Automated hyperparameter optimization, model versioning",
        "Automated model selection, advanced experiment tracking",
        "Automated model architecture search, self-improving models",
    ),
    "deployment": (
        "Manual deployment, no monitoring",
        "Basic CI/CD, manual model validation",
        "Automated model validation, A/B testing",
        "Canary deployments, automated rollback",
        "Fully automated deployment, self-healing systems",
    ),
    "monitoring": (
        "No monitoring",
        "Basic model metrics monitoring",
        "Automated alerting, basic drift detection",
        "Advanced drift detection, automated retraining",
        "Automated root cause analysis, self-optimizing systems",
    ),
    "governance": (
        "No governance",
        "Manual model documentation",
        "Basic model registry, manual approval workflows",
        "Automated compliance checks, model cards",
        "Automated governance, explainable AI, bias detection",
    ),
}

PHASES = {1: "Phase 1: Foundation", 2: "Phase 2: Automation", 3: "Phase 3: Scaling", 4: "Phase 4: Optimization"}
PHASE_MONTHS = {1: "0-3 months", 2: "3-6 months", 3: "6-12 months", 4: "12+ months"}
# Every task of each phase, in the roadmap's order.
PHASE_TASKS: dict[int, tuple[str, ...]] = {
    1: (
        "Implement version control for code and models",
        "Set up basic CI/CD pipelines",
        "Establish experiment tracking",
        "Create model versioning system",
        "Implement basic monitoring",
    ),
    2: (
        "Automate feature engineering",
        "Implement automated model validation",
        "Set up model registry",
        "Automate model deployment",
        "Implement A/B testing framework",
    ),
    3: (
        "Implement feature store",
        "Set up advanced monitoring and alerting",
        "Automate model retraining",
        "Implement model governance",
        "Set up MLOps platform",
    ),
    4: (
        "Implement automated model optimization",
        "Set up self-healing systems",
        "Implement federated learning",
        "Automate compliance and governance",
        "Continuous improvement",
    ),
}

# Each phase's tasks, filed under the components they move (a subset of PHASE_TASKS).
# Phase 2 names no monitoring task: the next step says so rather than borrow one.
ROADMAP: dict[int, dict[Component, tuple[str, ...]]] = {
    1: {
        "data_management": ("Implement version control for code and models",),
        "model_development": ("Establish experiment tracking", "Create model versioning system"),
        "deployment": ("Set up basic CI/CD pipelines",),
        "monitoring": ("Implement basic monitoring",),
        "governance": ("Create model versioning system",),
    },
    2: {
        "data_management": ("Automate feature engineering",),
        "model_development": ("Set up model registry",),
        "deployment": (
            "Implement automated model validation",
            "Automate model deployment",
            "Implement A/B testing framework",
        ),
        "monitoring": (),
        "governance": ("Set up model registry",),
    },
    3: {
        "data_management": ("Implement feature store", "Set up MLOps platform"),
        "model_development": ("Set up MLOps platform",),
        "deployment": ("Set up MLOps platform",),
        "monitoring": ("Set up advanced monitoring and alerting", "Automate model retraining"),
        "governance": ("Implement model governance",),
    },
    4: {
        "data_management": ("Implement federated learning", "Continuous improvement"),
        "model_development": ("Implement automated model optimization",),
        "deployment": ("Set up self-healing systems",),
        "monitoring": ("Continuous improvement",),
        "governance": ("Automate compliance and governance",),
    },
}

# Section 6, the case study (a global FinTech company): what its platform achieved.
# The assessment measures this project's own counterparts from its audit trail and registry.
CASE_STUDY = {
    "time_to_market_reduction": 0.70,
    "model_accuracy_improvement": 0.15,
    "infrastructure_cost_reduction": 0.40,
    "deployment_success_rate": 0.999,
    "experiments_multiplier": 10,
}
