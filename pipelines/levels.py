"""The maturity ladder: what each level adds over the one below, and what stays manual.

One switch (``level`` in params.yaml, ``make pipeline LEVEL=n``) runs the same project
at Level 0, 1, 2 or 3 of the maturity model. The levels are built by composition:

* Level 0 (``pipelines/flows/level0.py``): a plain script, pandas and scikit-learn.
* Level 1 (``pipelines/flows/level1.py``): the same training, tracked in MLflow.
* Level 2 (``pipelines/flows/training.py`` with ``level: 2``): the Prefect flow without the feature
  store: DVC, validation, engineered features, a tuned model, the registry and its gate,
  a drift alert.
* Level 3 (``pipelines/flows/training.py``, ``loop.py``): the full flow and the loop.

The texts below are what each run's summary prints; docs/workshop/ walks the ladder.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LevelSpec:
    number: int
    name: str
    added: tuple[str, ...]
    manual: tuple[str, ...]


LEVELS: dict[int, LevelSpec] = {
    0: LevelSpec(
        0,
        "No MLOps",
        added=(
            "a plain script: trains the hand-picked model (training.model) on the raw columns",
            "writes one model file (.state/level0/model.pkl) and prints its holdout metrics",
        ),
        manual=(
            "data: produced or copied by hand each time; no versioning, no validation",
            "experiments: nothing recorded; the printed metrics are gone once the terminal closes",
            "deployment: someone copies the model file to a server; nobody watches it afterwards",
            "governance: no record of which code, data or settings produced the file",
        ),
    ),
    1: LevelSpec(
        1,
        "DevOps for ML",
        added=(
            "experiment tracking in MLflow: params, holdout metrics, resolved settings, the logged model",
            "version control for code and models: every run names its git commit; every model is a "
            "logged MLflow artifact with a signature",
            "basic data versioning: a content fingerprint of the training data on every run",
            "automated tests and CI (make test, .ci/run)",
            "basic model metrics, kept per run and comparable in the MLflow UI",
        ),
        manual=(
            "data versioning: the fingerprint says which data, but cannot bring it back",
            "data validation and feature engineering (raw columns only)",
            "hyper-parameters: picked by hand in training.params",
            "model validation and deployment: a human reads the metrics and decides",
            "monitoring beyond each run's metrics; governance beyond the run's own record",
        ),
    ),
    2: LevelSpec(
        2,
        "Automated ML",
        added=(
            "data versioned with DVC (pushed to a remote; any version restorable)",
            "data validation with Great Expectations; bad batches quarantined with their report",
            "automated feature engineering (customer history table), checked before use",
            "automated hyper-parameter search (nested MLflow runs) for the hand-picked family",
            "model registry with an automated validation gate; A/B comparison with the champion on the holdout",
            "basic drift alerting: an Evidently report on the newest weeks against the training weeks",
        ),
        manual=(
            "putting a challenger into service: a human promotes it (no canary, no automated rollback)",
            "reacting to a drift alert: a human starts retraining",
            "serving features: computed again at serving time (no feature store), so training and serving can drift",
            "governance: approvals by hand; no model card, no policy checks",
        ),
    ),
    3: LevelSpec(
        3,
        "Mature MLOps",
        added=(
            "the Feast feature store: point-in-time training sets and online features from one definition",
            "automated model selection across model families, with full lineage on every version",
            "canary deployment with automated rollback (make canary, make canary-demo)",
            "drift-triggered retraining (monitoring/)",
            "model cards and automated compliance checks (governance/)",
        ),
        manual=(
            "the thresholds themselves: gate, canary, drift trigger and policy are set by people in params.yaml",
            "root-cause analysis of a drift alert (a ranking of drifted features is a Level 4 preview)",
            "policy exceptions and sign-off where the policy asks for a human",
        ),
    ),
}


def spec(level: int) -> LevelSpec:
    try:
        return LEVELS[level]
    except KeyError:
        raise ValueError(f"level {level} is not one of {sorted(LEVELS)}") from None
