"""The validation gate judges real models; each rejection names its rule."""

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from core.settings import Settings, load_settings
from core.synthetic import LenderConfig, generate_week
from features.engineering import FeatureColumns, features_of
from pipelines.steps.gate import ModelUnderTest, judge, latency_rule
from pipelines.steps.training import build_model, time_split

pytestmark = pytest.mark.model

# Latency is measured, so it is noisy: every test but the latency one gives it room.
SETTINGS = load_settings(overrides={"gate.latency_budget_ms": 10_000})
FULL = FeatureColumns.from_schema(SETTINGS.schema_)
FEW = FeatureColumns(("loan_amount", "age"), ())


@pytest.fixture(scope="module")
def split() -> Any:
    config = LenderConfig(applications_per_week=900, customers=3000)
    frame = pd.concat([generate_week(config, w) for w in range(1, 9)], ignore_index=True)
    return time_split(frame, SETTINGS.schema_, holdout_weeks=2)


def fit(split: Any, columns: FeatureColumns, **params: Any) -> Pipeline:
    model = build_model(columns, "logistic_regression", {"max_iter": 1000, **params}, seed=0)
    return model.fit(features_of(split.train, columns), split.train[SETTINGS.schema_.label])


def gate_settings(**changes: Any) -> Settings:
    return SETTINGS.model_copy(update={"gate": SETTINGS.gate.model_copy(update=changes)})


class Scrambled:
    """A model that ranks well everywhere but in one region, where it guesses."""

    def __init__(self, model: Pipeline, region: str) -> None:
        self.model, self.region = model, region

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        proba = np.array(self.model.predict_proba(features))
        inside = (features["region"] == self.region).to_numpy()
        proba[inside, 1] = np.random.default_rng(0).permutation(proba[inside, 1])
        proba[inside, 0] = 1 - proba[inside, 1]
        return proba


class LatePaymentsHelp:
    """A model that (wrongly) trusts applicants more the more late payments they have."""

    def __init__(self, model: Pipeline) -> None:
        self.model = model

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        proba = np.array(self.model.predict_proba(features))
        proba[:, 1] = proba[:, 1] * 0.5 ** features["num_late_payments_12m"].to_numpy()
        proba[:, 0] = 1 - proba[:, 1]
        return proba


def failed(verdict: Any) -> set[str]:
    return {rule.rule for rule in verdict.failed}


def test_a_better_candidate_passes_every_rule(split: Any) -> None:
    champion = ModelUnderTest(fit(split, FEW), FEW)
    verdict = judge(ModelUnderTest(fit(split, FULL), FULL), champion, split.holdout, SETTINGS)
    assert verdict.passed, verdict.summary()
    assert {"beats_champion", "latency", "size"} <= {r.rule for r in verdict.rules}
    assert any(r.rule.startswith("slice.region=") for r in verdict.rules)


def test_a_worse_candidate_is_rejected_by_name(split: Any) -> None:
    champion = ModelUnderTest(fit(split, FULL), FULL)
    verdict = judge(ModelUnderTest(fit(split, FEW), FEW), champion, split.holdout, SETTINGS)
    assert "beats_champion" in failed(verdict)
    assert "beats_champion" in verdict.summary()


def test_an_identical_candidate_is_found_equal_and_rejected(split: Any) -> None:
    model = fit(split, FULL)
    verdict = judge(ModelUnderTest(model, FULL), ModelUnderTest(model, FULL), split.holdout, SETTINGS)
    (rule,) = verdict.failed
    assert rule.rule == "beats_champion" and "equal" in rule.detail


def test_a_candidate_that_fails_one_slice_is_rejected_naming_it(split: Any) -> None:
    champion_model = fit(split, FULL)
    candidate = ModelUnderTest(Scrambled(champion_model, "north"), FULL)
    settings = gate_settings(min_improvement=-1.0)  # isolate the slice rule
    verdict = judge(candidate, ModelUnderTest(champion_model, FULL), split.holdout, settings)
    assert "slice.region=north" in failed(verdict)
    assert not any(r.startswith("slice.region=") and r != "slice.region=north" for r in failed(verdict))


def test_a_candidate_over_the_latency_budget_is_rejected(split: Any) -> None:
    verdict = judge(ModelUnderTest(fit(split, FULL), FULL), None, split.holdout, gate_settings(latency_budget_ms=0.001))
    assert failed(verdict) == {"latency"}


class Waits:
    """A model whose every call waits 100 ms without computing: a busy machine's lost time slices."""

    def __init__(self, model: Pipeline) -> None:
        self.model = model

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        import time

        time.sleep(0.1)
        return np.asarray(self.model.predict_proba(frame))


class Computes:
    """A model whose every call computes for 100 ms: its own cost, which the budget is for."""

    def __init__(self, model: Pipeline) -> None:
        self.model = model

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        import time

        started = time.thread_time()
        while time.thread_time() - started < 0.1:
            pass
        return np.asarray(self.model.predict_proba(frame))


def test_the_latency_budget_counts_the_model_computing_not_waiting_for_a_core(split: Any) -> None:
    """On a loaded machine a call waits for a core; that wait is the machine's, not the model's.
    (A first `make pipeline` on a fresh clone, beside other work, refused a good first model:
    p95 51 ms of wall clock for one row against the 50 ms budget.)"""
    model = fit(split, FULL)
    waiting = latency_rule(ModelUnderTest(Waits(model), FULL), split.holdout, budget_ms=50.0, calls=20)
    assert waiting.passed, waiting.detail
    assert "wall clock p95 1" in waiting.detail  # the 100 ms waits are still reported
    computing = latency_rule(ModelUnderTest(Computes(model), FULL), split.holdout, budget_ms=50.0, calls=20)
    assert not computing.passed, computing.detail


def test_absolute_floors_decide_the_first_champion(split: Any) -> None:
    candidate = ModelUnderTest(fit(split, FULL), FULL)
    assert judge(candidate, None, split.holdout, SETTINGS).passed
    strict = gate_settings(minimums={"roc_auc": 0.99})
    assert failed(judge(candidate, None, split.holdout, strict)) == {"minimum.roc_auc"}


def test_more_late_payments_must_never_lower_the_risk(split: Any) -> None:
    candidate = ModelUnderTest(LatePaymentsHelp(fit(split, FULL)), FULL)
    assert "behaviour.increasing.num_late_payments_12m" in failed(judge(candidate, None, split.holdout, SETTINGS))


def test_a_model_that_reads_the_sensitive_attribute_fails_invariance(split: Any) -> None:
    with_gender = FeatureColumns(FULL.numeric, (*FULL.categorical, "gender"))
    verdict = judge(ModelUnderTest(fit(split, with_gender), with_gender), None, split.holdout, SETTINGS)
    assert "behaviour.invariant.gender" in failed(verdict)
    assert "behaviour.invariant.customer_id" not in failed(verdict)
