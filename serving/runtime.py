"""Everything the service does per request, as a plain class: testable without HTTP.

Holds the models behind the registry aliases ``champion`` and ``challenger``, the
online feature reader, the canary state and the prediction log. ``answer`` routes a
request, looks its entity up in the feature store, scores it, logs it, and says
which model answered; requests waiting together are answered as one batch
(``serving/batching.py``, ``_answer_batch``), each keeping its own outcome. ``explain``
routes the same way (``_routed``) and explains instead of logging. On both paths, if
the challenger raises, the champion answers instead. Requests and answers are the
contract's models (``serving/schema.py``).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from core import loop_store, registry
from core.settings import Settings
from features.freshness import FreshHistory
from features.store import HISTORY_VIEW, OnlineFeatures
from serving.batching import MicroBatcher, Submitted
from serving.canary import CanaryState, Variant, parse_state, route
from serving.models import LoadedModel, load_alias, load_version
from serving.prediction_log import clean_features
from serving.schema import FeatureContribution, service_models
from serving.shared_log import open_log

logger = logging.getLogger(__name__)


def _scores(model: LoadedModel, frame: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, dict[int, BaseException]]:
    """``model``'s probabilities for ``rows`` of ``frame`` (NaN where it failed), and each failed row's exception.

    One call for all the rows; only if that fails, one call per row, so a row the model
    cannot score fails alone.
    """
    part = frame if len(rows) == len(frame) else frame.iloc[rows]
    try:
        return model.risks(part), {}
    except Exception as error:  # find the rows it fails on
        logger.debug("v%s failed on a batch of %d (%s); scoring row by row", model.version, len(rows), error)
    scores: np.ndarray = np.full(len(rows), np.nan)
    failed: dict[int, BaseException] = {}
    for position, row in enumerate(rows):
        try:
            scores[position] = model.risk(frame.iloc[[row]])
        except Exception as error:
            failed[int(row)] = error
    return scores, failed


def settle_heap() -> None:
    """Collect, then freeze what survives, after models are loaded or swapped.

    Everything alive then (the libraries, the models: about 400,000 objects) lives as
    long as the process or the canary step. Frozen, the cyclic collector no longer walks
    it: a full collection otherwise stalls every request in flight (about 250 ms with
    the whole heap, 260 ms p99 at concurrency 1 before the first freeze). A model loaded
    after the first freeze was not frozen, so the heap is settled again at each swap;
    frozen objects in reference cycles are never reclaimed (``gc.freeze``'s trade), which a
    model swap a few times a day can afford.
    """
    gc.collect()
    gc.freeze()


T = TypeVar("T")


ENTITY = "entity"  # the prediction log's field for the request's entity, whatever the contract calls it
EVENT_TIME = "event_time"  # ...and for the event's time: the request's, or when it arrived


@dataclass(frozen=True)
class Answer:
    decision: Any  # the contract's decision model (serving/schema.py)
    elapsed_ms: float
    challenger_error: str | None  # the challenger raised and the champion answered
    stages: dict[str, float] = field(default_factory=dict)  # stage name -> seconds, in the order they ran
    batch_size: int = 1  # requests answered together with this one (serving/batching.py), itself included


class Stages:
    """The time of each stage of one request, for the service's stage histogram: where a slow request lost it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def mark(self, stage: str) -> None:
        """The stage that just ended, timed from the end of the one before."""
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._last
        self._last = now


@dataclass(frozen=True)
class Routed(Generic[T]):
    """What one routed call produced, and by which model."""

    result: T
    model: LoadedModel
    variant: Variant


class ServingRuntime:
    """Answers requests; a watcher thread follows the canary state off the request path."""

    WATCH_SECONDS = 0.25
    WARM_FRAMES = 64  # recent request frames a newly loaded model scores before it serves

    def __init__(self, settings: Settings, watch: bool = True) -> None:
        self.settings = settings
        self.models = service_models(settings.schema_)
        self.entity = settings.schema_.entity
        self.features = OnlineFeatures(settings)
        self.timestamp = settings.schema_.timestamp
        # Its writer process starts now and seeds itself while the models load (waited for below).
        self.fresh = FreshHistory(settings, HISTORY_VIEW) if settings.features.fresh_online else None
        self.log = open_log(settings)  # local day files, or segments on the shared loop_store
        self._lock = threading.Lock()
        self._state_seen: bytes | None = None  # the canary state document as last applied
        self.state = CanaryState()
        # serving.model_version: this pod serves that version only (a cluster's Rollout does the canary).
        self.pinned = settings.serving.model_version
        self._pin_error: str | None = None
        self._pin_tried = 0.0
        self.champion = self._load_pinned() if self.pinned else load_alias(settings, registry.CHAMPION)
        self.challenger: LoadedModel | None = None
        self._explainers: dict[str, Any] = {}  # version -> LocalExplainer, built on first /explain
        self._explainers_lock = threading.Lock()  # not the models' lock: building one may import shap (2 s)
        self._recent: deque[pd.DataFrame] = deque(maxlen=self.WARM_FRAMES)  # what a new model is warmed on
        self.features.warm_up()  # the first online read costs about 0.7 s (imports, connection): not a request's
        self.refresh()
        if self.fresh is not None:
            logger.info("fresh history rows: the writer process holds %d landed events", self.fresh.seeded)
        self._stop = threading.Event()
        serving = settings.serving
        self.batcher: MicroBatcher[tuple[Any, dt.datetime], Answer] | None = (
            MicroBatcher(self._answer_batch, serving.max_batch_size, serving.max_wait_ms, name="prediction-batcher")
            if serving.max_batch_size > 1
            else None
        )
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
        if self.batcher is not None:
            self.batcher.close()
        if self.fresh is not None:
            self.fresh.close()
        self.log.close()

    @property
    def ready(self) -> bool:
        return self.champion is not None

    def refresh(self) -> None:
        """Re-read the canary state if it changed; load or drop the challenger to match.

        Called by the watcher thread, never on the request path: a model not already held
        loads from the registry and is warmed first, then one assignment swaps the pair in,
        so a request sees the old pair or the new, never a half, and never a cold model.
        A promotion moves the champion alias and the state together, so the champion is
        re-read then; a version already held is kept as it is (warm).
        """
        if self.pinned is not None:
            self._refresh_pinned()
            return
        if self.champion is None:
            self._take_first_champion()
        # The bytes, not a timestamp: an object store's objects have no mtime a replica can trust.
        seen = loop_store.read_document(self.settings, loop_store.CANARY_STATE)
        if seen == self._state_seen:
            return
        with self._lock:
            if seen == self._state_seen:
                return
            state = parse_state(seen)
            champion = self._behind(registry.CHAMPION)
            challenger = None
            if state.challenger_version is not None:
                challenger = self._behind(registry.CHALLENGER)
                if challenger is None or challenger.version != state.challenger_version:
                    state = CanaryState(note=f"challenger v{state.challenger_version} is not behind the alias")
                    challenger = None
            swapped = champion is not self.champion or challenger is not self.challenger
            self.champion, self.challenger, self.state, self._state_seen = champion, challenger, state, seen
        if swapped:
            settle_heap()

    PIN_RETRY_SECONDS = 5.0  # a pinned version that could not be loaded is asked for again this often

    def _load_pinned(self) -> LoadedModel | None:
        """The pinned registry version, or None (not ready, and why in ``describe``) when it cannot be loaded.

        Pinned, the service ignores the aliases and the local canary state: which version a
        pod serves is its configuration's (``MLOPS_MODEL_VERSION``), and the cluster's
        Rollout moves traffic between pods. A version that does not exist keeps the pod
        unready, which stops the Rollout at its first step until its progress deadline.
        """
        from mlflow.exceptions import MlflowException

        self._pin_tried = time.monotonic()
        try:
            model = load_version(self.settings, str(self.pinned))
        except (MlflowException, OSError) as error:
            name = self.settings.mlflow.registered_model
            self._pin_error = f"pinned version {name} v{self.pinned} cannot be loaded: {type(error).__name__}: {error}"
            logger.error("%s; not ready (serving.model_version / MLOPS_MODEL_VERSION)", self._pin_error)
            return None
        self._pin_error = None
        logger.info("pinned v%s loaded: ready; the aliases and the canary state are not followed", model.version)
        return model

    def _refresh_pinned(self) -> None:
        """Pinned: nothing to follow once the version is loaded; until then, try again now and then."""
        if self.champion is not None or time.monotonic() - self._pin_tried < self.PIN_RETRY_SECONDS:
            return
        model = self._load_pinned()
        if model is not None:
            with self._lock:
                self.champion = self._warmed(model)
            settle_heap()

    def _behind(self, alias: str) -> LoadedModel | None:
        """The model behind ``alias``: the one already held if the version is the same, else loaded and warmed."""
        version = registry.alias_version(self.settings, alias)
        if version is None:
            return None
        for held in (self.champion, self.challenger):
            if held is not None and held.version == version:
                return held
        return self._warmed(load_version(self.settings, version))

    def _warmed(self, model: LoadedModel) -> LoadedModel:
        """``model`` after scoring the recent requests' frames, off the request path.

        A model's first calls are slow (about 7 ms against 2 for its first one here, and
        its one-hot memo fills per category combination): paid by the watcher, not by the
        first requests routed to it, which a canary would otherwise judge it by.
        """
        for frame in list(self._recent):
            try:
                model.risks(frame)  # the batch path, at the batch sizes the service has seen
                model.risk(frame.iloc[[0]])  # and the one-row path
            except Exception:  # a model that cannot score is found by the requests, which fall back
                break
        return model

    def _take_first_champion(self) -> None:
        """A service started before any model is champion (the loop starts it while the first
        model trains) becomes ready as soon as the alias is set."""
        champion = load_alias(self.settings, registry.CHAMPION)
        if champion is None:
            return
        with self._lock:
            if self.champion is None:
                self.champion = champion
                logger.info("champion v%s loaded: ready", champion.version)
        settle_heap()

    def _routed(self, request: Any, work: Callable[[LoadedModel, pd.DataFrame], T]) -> Routed[T]:
        """Route one request as ``answer`` would (sticky, by entity), look up its features, and run ``work``.

        If the challenger raises, the champion does the work instead, so a broken
        challenger costs its requests nothing but latency.
        """
        champion, challenger, state = self.champion, self.challenger, self.state  # one consistent view
        if champion is None:
            raise RuntimeError("no champion is loaded")
        frame = self.features(pd.DataFrame([request.model_dump(exclude={"request_id", self.timestamp})]))
        self._recent.append(frame)
        variant: Variant = route(getattr(request, self.entity), state) if challenger else "champion"
        model = challenger if variant == "challenger" and challenger else champion
        try:
            return Routed(work(model, frame), model, variant)
        except Exception:
            if model is champion:
                raise
            return Routed(work(champion, frame), champion, "champion")

    def answer(self, request: Any) -> Answer:
        """Score one request: route, look up features, score, log; then its entity's history row goes online.

        With ``features.fresh_online``, the entity's requests take turns: this one waits for
        the entity's earlier row to be online, and hands its own to the fresh-row writer
        (``FreshHistory.hand_over``: a process of its own), which writes it after the answer has gone back.
        """
        event_time = getattr(request, self.timestamp) or dt.datetime.now(dt.UTC)
        if self.fresh is None:
            return self._answer(request, event_time)
        entity = getattr(request, self.entity)
        turn = self.fresh.take_turn(entity)
        try:
            answer = self._answer(request, event_time)
        except BaseException:
            turn.release()
            raise
        try:
            self.fresh.hand_over(turn, entity, event_time, request.model_dump())
        except Exception:  # answered and logged already: the row comes with the next materialization
            turn.release()
            logger.exception("could not queue %s's history row", entity)
        return answer

    def _answer(self, request: Any, event_time: dt.datetime) -> Answer:
        """This request's answer: through the batcher when batching is on, else as a batch of one."""
        if self.batcher is not None:
            return self.batcher((request, event_time))
        outcome = self._answer_batch([Submitted((request, event_time), time.perf_counter())])[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _answer_batch(self, batch: Sequence[Submitted[tuple[Any, dt.datetime]]]) -> list[Answer | BaseException]:
        """Answer every request of ``batch``: one feature read, one call per model, and each request its own.

        Each request keeps what it would get alone: its sticky variant (one consistent
        view of the models for the batch), its fallback to the champion if the challenger
        fails on it, its own exception if the champion does, its shadow score, its log
        record and its latency from its arrival. A model that fails on the batch is asked
        row by row, so one bad row fails only its own request.
        """
        started = time.perf_counter()
        champion, challenger, state = self.champion, self.challenger, self.state  # one consistent view
        if champion is None:
            return [RuntimeError("no champion is loaded")] * len(batch)
        requests = [submitted.item[0] for submitted in batch]
        stages = Stages()
        frame = self.features(pd.DataFrame([r.model_dump(exclude={"request_id", self.timestamp}) for r in requests]))
        stages.mark("features")
        self._recent.append(frame)
        entities = [getattr(r, self.entity) for r in requests]
        variants: list[Variant] = [route(e, state) if challenger else "champion" for e in entities]
        stages.mark("route")
        rows = np.arange(len(batch))
        probabilities = np.full(len(batch), np.nan)
        errors: dict[int, BaseException] = {}
        fallback: dict[int, str] = {}
        challenged = rows[[v == "challenger" for v in variants]]
        if challenger is not None and len(challenged):
            scored, failed = _scores(challenger, frame, challenged)
            probabilities[challenged] = scored
            for i, error in failed.items():
                fallback[i], variants[i] = f"{type(error).__name__}: {error}", "champion"
        by_champion = rows[[v == "champion" for v in variants]]
        if len(by_champion):
            scored, errors = _scores(champion, frame, by_champion)
            probabilities[by_champion] = scored
        stages.mark("model")
        shadows = np.full(len(batch), np.nan)
        if state.shadow and challenger is not None:
            shadows, _ = _scores(challenger, frame, rows)  # a broken shadow never affects the answer
            stages.mark("shadow")
        threshold = self.settings.training.decision_threshold
        words = self.settings.schema_.decisions
        outcomes: list[Answer | BaseException] = []
        decided: list[tuple[int, Any, LoadedModel]] = []
        for i, request in enumerate(requests):
            if i in errors:
                outcomes.append(errors[i])
                continue
            model = challenger if variants[i] == "challenger" and challenger is not None else champion
            probability = float(probabilities[i])
            decision: Any = self.models.decision(
                request_id=request.request_id or uuid.uuid4().hex,
                probability=round(probability, 6),
                decision=words.positive if probability >= threshold else words.negative,
                threshold=threshold,
                model_version=model.version,
                variant=variants[i],
                **{self.entity: entities[i]},
            )
            outcomes.append(decision)
            decided.append((i, decision, model))
        stages.mark("decision")
        answered = time.perf_counter()
        features = frame.to_dict(orient="records") if decided else []
        records = []
        for i, decision, model in decided:
            shadow = None if np.isnan(shadows[i]) else float(shadows[i])
            records.append(
                {
                    "request_id": decision.request_id,
                    ENTITY: entities[i],
                    EVENT_TIME: batch[i].item[1].isoformat(),
                    "variant": variants[i],
                    "model_version": model.version,
                    **model.lineage,
                    "probability": decision.probability,
                    "decision": decision.decision,
                    "latency_ms": round((answered - batch[i].arrived) * 1000, 3),
                    "challenger_failed": fallback.get(i),
                    "shadow_probability": shadow,
                    "shadow_version": challenger.version if shadow is not None and challenger else None,
                    "features": clean_features({str(k): v for k, v in features[i].items()}),
                }
            )
        if records:  # one write and flush for the batch, before any of its answers leaves
            self.log.append_many(records)
        stages.mark("log")
        for i, decision, _ in decided:
            waited = {"queue": started - batch[i].arrived}
            outcomes[i] = Answer(
                decision, (answered - batch[i].arrived) * 1000, fallback.get(i), waited | stages.seconds, len(batch)
            )
        return outcomes

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

    def explain(self, request: Any, top_k: int) -> Any:
        """The top contributions to this request's score, from the model that would answer it.

        Routed like ``answer`` (sticky, same variant, same fallback), but not logged: it is not a decision.
        """

        def explained_and_scored(model: LoadedModel, frame: pd.DataFrame) -> tuple[Any, float]:
            return self._explainer(model).explain(frame), model.risk(frame)

        routed = self._routed(request, explained_and_scored)
        explained, probability = routed.result
        top = explained.top(top_k)
        return self.models.explanation(
            request_id=request.request_id or uuid.uuid4().hex,
            model_version=routed.model.version,
            variant=routed.variant,
            probability=round(probability, 6),
            **{self.entity: getattr(request, self.entity)},
            method=explained.method,
            base_value=explained.base_value,
            top_features=[
                FeatureContribution(feature=c.feature, value=c.value, contribution=c.contribution) for c in top
            ],
            rest=round(sum(c.contribution for c in explained.contributions[top_k:]), 6),
        )

    def describe(self) -> dict[str, object]:
        """What the service routes by right now."""
        described: dict[str, object] = {
            "champion_version": self.champion.version if self.champion else None,
            "challenger_version": self.challenger.version if self.challenger else None,
            "weight": self.state.weight,
            "shadow": self.state.shadow,
            "note": self.state.note,
            "pinned_version": self.pinned,
        }
        if self.pinned is not None:
            described["note"] = self._pin_error or f"pinned to v{self.pinned}: the cluster's Rollout does the canary"
        return described
