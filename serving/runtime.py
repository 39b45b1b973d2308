"""Everything the service does per request, as a plain class: testable without HTTP.

Holds the models behind the registry aliases ``champion`` and ``challenger``, the
online feature reader, the canary state and the prediction log. ``answer`` routes an
application, looks its customer up in the feature store, scores it, logs it, and says
which model answered. If the challenger raises, the champion answers instead.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn

from core.settings import Settings
from features.engineering import FeatureColumns, features_of
from features.store import OnlineFeatures
from serving.canary import CanaryState, Variant, read_state, route
from serving.prediction_log import PredictionLog, clean_features
from serving.schema import CreditDecision, Explanation, FeatureContribution, LoanApplication

# The registry aliases: the serving version, the one in the canary, the one before.
CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    version: str
    model: Any
    columns: FeatureColumns
    one_row: OneRowScorer | None = None

    def risk(self, frame: pd.DataFrame) -> float:
        # assume_finite skips scikit-learn's re-check of every value: the request schema
        # already refuses infinities, and missing values still go to the imputers.
        with sklearn.config_context(assume_finite=True):
            if self.one_row is not None and len(frame) == 1:
                return self.one_row(frame)
            features = features_of(frame, self.columns)
            return float(np.asarray(self.model.predict_proba(features))[0, 1])


class _Missing:
    """Stands for every NaN in a memo key (NaN is not equal to itself, so it cannot be a key)."""


MISSING = _Missing()


class OneRowScorer:
    """The model's own fitted steps, applied to one row without the column transformer's frame handling.

    A ``ColumnTransformer`` selects columns by name from a data frame and re-assembles
    them, which costs more than the arithmetic for a single request. This reads the
    row's values once, calls each fitted sub-transformer on its columns' values and
    the fitted classifier on the stacked result: the same objects, the same numbers (a
    test holds it to the full pipeline), with none of the frame plumbing.

    A sub-transformer that reads only categorical columns has few distinct inputs (a
    few hundred combinations of region, employment, housing and purpose), and one-hot
    encoding is the dearest step (about 1.1 of 2.5 ms), so its output is remembered per
    combination: the encoder's own answer, computed once.
    """

    MEMO_SIZE = 4096  # combinations remembered per sub-transformer; past that, computed each time

    def __init__(self, preprocess: Any, classifier: Any, columns: FeatureColumns) -> None:
        self.parts = [
            _Part(transformer, tuple(names), columns)
            for name, transformer, names in preprocess.transformers_
            if name != "remainder" and transformer != "drop" and len(names)
        ]
        self.classifier = classifier

    @classmethod
    def for_model(cls, model: Any, columns: FeatureColumns) -> OneRowScorer | None:
        """A scorer for our training pipelines (preprocess, then classifier); None for anything else."""
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline

        if not (isinstance(model, Pipeline) and len(model.steps) == 2):
            return None
        preprocess = model.steps[0][1]
        if not isinstance(preprocess, ColumnTransformer) or preprocess.remainder != "drop":
            return None
        return cls(preprocess, model.steps[1][1], columns)

    def __call__(self, frame: pd.DataFrame) -> float:
        """The probability of default for the one row of ``frame`` (any extra columns are ignored)."""
        row = frame.to_numpy(dtype=object)[0]
        with warnings.catch_warnings():
            # The steps were fitted on named columns; they get the same values, in the same order, unnamed.
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            blocks = [part.transform(row, frame.columns) for part in self.parts]
            return float(self.classifier.predict_proba(np.hstack(blocks).astype(float))[0, 1])


class _Part:
    """One fitted sub-transformer of the column transformer and the columns it reads."""

    def __init__(self, transformer: Any, names: tuple[str, ...], kinds: FeatureColumns) -> None:
        self.transformer, self.columns = transformer, pd.Index(names)
        self.numeric = set(names) <= set(kinds.numeric)
        self.categorical = set(names) <= set(kinds.categorical)
        self.memo: dict[tuple[object, ...], np.ndarray] = {}

    def transform(self, row: np.ndarray, names: pd.Index) -> np.ndarray:
        positions = names.get_indexer(self.columns)
        if (positions < 0).any():
            missing = [c for c, p in zip(self.columns, positions, strict=True) if p < 0]
            raise KeyError(f"the model needs columns the request frame lacks: {missing}")
        values = row[positions]
        if self.numeric:  # as features_of() would: numbers as floats, None as NaN
            return np.asarray(self.transformer.transform(np.asarray([values], dtype="float64")))
        if not self.categorical:
            return np.asarray(self.transformer.transform(np.asarray([values], dtype=object)))
        key = tuple(MISSING if _is_nan(v) else (type(v), v) for v in values)
        block = self.memo.get(key)
        if block is None:
            block = np.asarray(self.transformer.transform(np.asarray([values], dtype=object)))
            if len(self.memo) < OneRowScorer.MEMO_SIZE:
                self.memo[key] = block
        return block


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and value != value


def load_alias(settings: Settings, alias: str) -> LoadedModel | None:
    """The registry version behind ``alias``, or None when the alias is not set."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    try:
        version = client.get_model_version_by_alias(settings.mlflow.registered_model, alias)
    except MlflowException:
        return None
    mlflow.set_tracking_uri(settings.tracking_uri)
    uri = f"models:/{settings.mlflow.registered_model}/{version.version}"
    model = mlflow.sklearn.load_model(uri)
    columns = FeatureColumns.from_signature(uri)
    return LoadedModel(str(version.version), model, columns, OneRowScorer.for_model(model, columns))


@dataclass(frozen=True)
class Answer:
    decision: CreditDecision
    elapsed_ms: float
    challenger_error: str | None  # the challenger raised and the champion answered


def state_path(settings: Settings) -> Path:
    return settings.state / "serving" / "canary_state.json"


class ServingRuntime:
    """Answers requests; a watcher thread follows the canary state off the request path."""

    WATCH_SECONDS = 0.25

    def __init__(self, settings: Settings, watch: bool = True) -> None:
        self.settings = settings
        self.features = OnlineFeatures(settings)
        self.log = PredictionLog(settings.predictions_dir)
        self._lock = threading.Lock()
        self._state_file = state_path(settings)
        self._state_seen: float | None = None
        self.state = CanaryState()
        self.champion = load_alias(settings, CHAMPION)
        self.challenger: LoadedModel | None = None
        self._explainers: dict[str, Any] = {}  # version -> LocalExplainer, built on first /explain
        self._explainers_lock = threading.Lock()  # not the models' lock: building one may import shap (2 s)
        self.refresh()
        self._stop = threading.Event()
        if watch:
            threading.Thread(target=self._watch, name="canary-state-watcher", daemon=True).start()

    def _watch(self) -> None:
        while not self._stop.wait(self.WATCH_SECONDS):
            try:
                self.refresh()
            except Exception:  # a bad state file or a registry hiccup must not kill the watcher
                logger.exception("could not apply the canary state; still serving the previous one")

    def close(self) -> None:
        self._stop.set()
        self.log.close()

    @property
    def ready(self) -> bool:
        return self.champion is not None

    def refresh(self) -> None:
        """Re-read the canary state if it changed; load or drop the challenger to match.

        Called by the watcher thread, never on the request path: models load from the
        registry first, then one assignment swaps them in, so a request sees the old
        pair or the new, never a half. A promotion moves the champion alias and the
        state together, so both models are reloaded then.
        """
        try:
            seen = self._state_file.stat().st_mtime_ns
        except FileNotFoundError:
            seen = None
        if seen == self._state_seen:
            return
        with self._lock:
            if seen == self._state_seen:
                return
            state = read_state(self._state_file)
            champion = load_alias(self.settings, CHAMPION)
            challenger = None
            if state.challenger_version is not None:
                challenger = load_alias(self.settings, CHALLENGER)
                if challenger is None or challenger.version != state.challenger_version:
                    state = CanaryState(note=f"challenger v{state.challenger_version} is not behind the alias")
                    challenger = None
            self.champion, self.challenger, self.state, self._state_seen = champion, challenger, state, seen

    def answer(self, application: LoanApplication) -> Answer:
        """Score one application: route, look up features, score, log."""
        started = time.perf_counter()
        champion, challenger, state = self.champion, self.challenger, self.state  # one consistent view
        if champion is None:
            raise RuntimeError("no champion is loaded")
        request = application.model_dump(exclude={"request_id"})
        frame = self.features(pd.DataFrame([request]))
        variant: Variant = route(application.customer_id, state) if challenger else "champion"
        model = challenger if variant == "challenger" and challenger else champion
        fallback = None
        try:
            probability = model.risk(frame)
        except Exception as error:  # the challenger failed: the champion answers instead
            if model is champion:
                raise
            fallback = f"{type(error).__name__}: {error}"
            variant, model = "champion", champion
            probability = model.risk(frame)
        shadow = None
        if state.shadow and challenger is not None:
            try:
                shadow = challenger.risk(frame)
            except Exception:  # a broken shadow never affects the answer
                shadow = None
        threshold = self.settings.training.decision_threshold
        decision = CreditDecision(
            request_id=application.request_id or uuid.uuid4().hex,
            customer_id=application.customer_id,
            probability_of_default=round(probability, 6),
            decision="decline" if probability >= threshold else "approve",
            threshold=threshold,
            model_version=model.version,
            variant=variant,
        )
        elapsed = (time.perf_counter() - started) * 1000
        self.log.append(
            {
                "request_id": decision.request_id,
                "customer_id": decision.customer_id,
                "variant": variant,
                "model_version": model.version,
                "probability": decision.probability_of_default,
                "decision": decision.decision,
                "latency_ms": round(elapsed, 3),
                "challenger_failed": fallback,
                "shadow_probability": shadow,
                "shadow_version": challenger.version if shadow is not None and challenger else None,
                "features": clean_features({str(k): v for k, v in frame.iloc[0].items()}),
            }
        )
        return Answer(decision, elapsed, fallback)

    def _explainer(self, model: LoadedModel) -> Any:
        from governance.explain import LocalExplainer

        with self._explainers_lock:
            explainer = self._explainers.get(model.version)
            if explainer is None or explainer.model is not model.model:
                explainer = LocalExplainer(model.model, model.columns)
                # Keep only what may still be asked for: this model and the pair being served.
                serving = {m.version for m in (self.champion, self.challenger) if m is not None}
                self._explainers = {v: e for v, e in self._explainers.items() if v in serving}
                self._explainers[model.version] = explainer
            return explainer

    def explain(self, application: LoanApplication, top_k: int) -> Explanation:
        """The top contributions to this application's risk, from the model that would answer it.

        Routed like ``answer`` (sticky, same variant), but not logged: it is not a decision.
        """
        champion, challenger, state = self.champion, self.challenger, self.state
        if champion is None:
            raise RuntimeError("no champion is loaded")
        frame = self.features(pd.DataFrame([application.model_dump(exclude={"request_id"})]))
        variant: Variant = route(application.customer_id, state) if challenger else "champion"
        model = challenger if variant == "challenger" and challenger else champion
        try:
            explained = self._explainer(model).explain(frame)
        except Exception:  # as in answer(): a failing challenger is replaced by the champion
            if model is champion:
                raise
            variant, model = "champion", champion
            explained = self._explainer(model).explain(frame)
        top = explained.top(top_k)
        return Explanation(
            request_id=application.request_id or uuid.uuid4().hex,
            customer_id=application.customer_id,
            model_version=model.version,
            variant=variant,
            probability_of_default=round(model.risk(frame), 6),
            method=explained.method,
            base_value=explained.base_value,
            top_features=[
                FeatureContribution(feature=c.feature, value=c.value, contribution=c.contribution) for c in top
            ],
            rest=round(sum(c.contribution for c in explained.contributions[top_k:]), 6),
        )

    def describe(self) -> dict[str, object]:
        """What the service routes by right now."""
        return {
            "champion_version": self.champion.version if self.champion else None,
            "challenger_version": self.challenger.version if self.challenger else None,
            "weight": self.state.weight,
            "shadow": self.state.shadow,
            "note": self.state.note,
        }
