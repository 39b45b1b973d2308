"""The BentoML service (1.4, ``@bentoml.service``): a thin HTTP adapter over ``ServingRuntime``.

Endpoints:
* ``POST /predict``: a request of the contract (``serving/schema.py``) in, a decision out;
  headers ``X-Model-Version`` and ``X-Model-Variant`` say who answered.
* ``GET /healthz`` (BentoML's own): the process is up. ``GET /readyz``: a champion is
  loaded (BentoML's readiness probe asks ``__is_ready__``).
* ``POST /explain``: the same body as ``/predict``; the top contributing features of the
  model that would answer (``governance/explain.py``), in log-odds. Not logged.
* ``POST /canary``: what the service routes by right now (versions, weight, shadow).
* ``GET /metrics``: Prometheus, with requests, errors and latency per variant, and each
  request's time per stage inside the service (``credit_stage_seconds``) and the size of
  the batch it was scored in (``credit_batch_size``, ``serving/batching.py``).

Configuration comes from the same params.yaml as everything else (``MLOPS_PARAMS`` and
``MLOPS_STATE_DIR`` in the environment, as ``make serve`` sets them).

This is the one module of the project that does work at import: BentoML reads the
request and response types from the endpoints' annotations when the class is
decorated, and ``bentoml serve serving.service:CreditService`` imports this module to
find the class. The types come from the data contract, so the settings are loaded
here, once, and the class is built from them (``build_service``). Nothing else imports
this module. (No ``from __future__ import annotations`` here: the annotations must be
the built classes themselves, not names BentoML would look up in this module.)
"""

import logging
import os
import time
from typing import Any

import bentoml

from core.settings import Settings, load_settings
from serving.analysis import LATENCY_BUCKETS, STAGE_BUCKETS
from serving.errors import ErrorModel
from serving.limits import ClientErrorFilter, MaxBodySize
from serving.runtime import ServingRuntime, settle_heap
from serving.schema import service_models

REQUESTS = bentoml.metrics.Counter(
    name="credit_requests", documentation="Answered prediction requests", labelnames=["variant", "model_version"]
)
ERRORS = bentoml.metrics.Counter(
    name="credit_errors",
    documentation="Failed predictions, and challenger failures answered by the champion",
    labelnames=["variant", "kind"],
)
LATENCY = bentoml.metrics.Histogram(
    name="credit_latency_seconds",
    documentation="Time to answer, features and model included",
    labelnames=["variant"],
    buckets=LATENCY_BUCKETS,
)
STAGES = bentoml.metrics.Histogram(
    name="credit_stage_seconds",
    documentation="Time of each stage of a prediction request inside the service (queue, features, route, model, "
    "shadow, decision, log, metrics); a batch's stages are each of its requests'",
    labelnames=["stage"],
    buckets=STAGE_BUCKETS,
)

BATCH_SIZES = bentoml.metrics.Histogram(
    name="credit_batch_size",
    documentation="Requests scored together (one feature read, one call per model), counted once per request",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)


def usable_cpus() -> int | None:
    """The cores this process may run on (its affinity, which a container's cpuset narrows), else all of them."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def build_service(settings: Settings) -> Any:
    """The service class for ``settings``' contract: its endpoints typed with the contract's models."""
    models = service_models(settings.schema_)
    Request, Decision, Explanation = models.request, models.decision, models.explanation

    class CreditService:
        def __init__(self) -> None:
            from threadpoolctl import threadpool_limits

            # One native thread per scoring call, for the whole service process: a request is
            # one row, and splitting it over OpenMP threads only waits for busy cores (gradient
            # boosting, one row, loaded 2-core machine: p50 25.6 ms on two threads, 1.5 ms on
            # one). Requests run in parallel on the service's own threads instead.
            threadpool_limits(1)
            self.runtime = ServingRuntime(settings)
            self.explain_top_k = settings.governance.explain_top_k
            # The heap is collected and frozen once the models are in (serving/runtime.settle_heap).
            settle_heap()

        def __is_ready__(self) -> bool:
            return self.runtime.ready

        @bentoml.on_shutdown  # type: ignore[untyped-decorator]
        def stop_watching(self) -> None:
            self.runtime.close()

        @bentoml.api(route="/canary")  # type: ignore[untyped-decorator]
        def canary(self) -> dict[str, object]:
            """What the service routes by now: champion, challenger, weight, shadow."""
            return self.runtime.describe()

        @bentoml.api(route="/predict")  # type: ignore[untyped-decorator]
        def predict(self, request: Request, /, ctx: bentoml.Context) -> Decision:  # type: ignore[valid-type]
            if not self.runtime.ready:
                raise bentoml.exceptions.ServiceUnavailable("no champion model is loaded yet")
            try:
                answer = self.runtime.answer(request)
            except Exception:
                ERRORS.labels(variant="champion", kind="error").inc()
                raise
            if answer.challenger_error:
                ERRORS.labels(variant="challenger", kind="challenger_fallback").inc()
            decision = answer.decision
            ctx.response.headers["X-Model-Version"] = decision.model_version
            ctx.response.headers["X-Model-Variant"] = decision.variant
            metrics_started = time.perf_counter()
            REQUESTS.labels(variant=decision.variant, model_version=decision.model_version).inc()
            LATENCY.labels(variant=decision.variant).observe(answer.elapsed_ms / 1000)
            BATCH_SIZES.observe(answer.batch_size)
            for stage, seconds in answer.stages.items():
                STAGES.labels(stage=stage).observe(seconds)
            STAGES.labels(stage="metrics").observe(time.perf_counter() - metrics_started)
            return decision  # type: ignore[no-any-return]

        @bentoml.api(route="/explain")  # type: ignore[untyped-decorator]
        def explain(self, request: Request, /, ctx: bentoml.Context) -> Explanation:  # type: ignore[valid-type]
            """The top contributing features for one request (same body as /predict); not a decision, not logged."""
            if not self.runtime.ready:
                raise bentoml.exceptions.ServiceUnavailable("no champion model is loaded yet")
            explanation = self.runtime.explain(request, self.explain_top_k)
            ctx.response.headers["X-Model-Version"] = explanation.model_version
            ctx.response.headers["X-Model-Variant"] = explanation.variant
            return explanation  # type: ignore[no-any-return]

    service = bentoml.service(
        name=settings.features.service,  # credit_default for the demo lender
        # One worker per core (params.yaml serving.workers): on 2 cores, 2 workers answered 1.8x the requests
        # of one at concurrency 32 (make bench-serving). Each worker follows the canary state file on its own.
        # With features.fresh_online the service is one process (core/settings.py says why).
        workers=settings.service_workers(usable_cpus()),
        threads=settings.serving.threads,
        traffic={"timeout": 30},
        # No span per request unless tracing is asked for: without an exporter they were made and dropped.
        tracing={} if settings.serving.tracing else {"excluded_urls": [".*"]},  # every URL
        logging={
            "access": {
                "enabled": settings.serving.access_log,
                "skip_paths": ["/livez", "/readyz", "/healthz", "/metrics"],
            }
        },
    )(CreditService)
    # Outermost first, so the one error model also covers the body limit's 413s.
    service.add_asgi_middleware(ErrorModel, requests={api.route: api.input_spec for api in service.apis.values()})
    service.add_asgi_middleware(MaxBodySize)
    return service


CreditService = build_service(load_settings())
logging.getLogger("bentoml._internal.server.http_app").addFilter(ClientErrorFilter())
