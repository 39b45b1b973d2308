"""A minimal Starlette app serving the same champion: the benchmark's framework baseline.

Same schema, same feature lookup, same model; no canary, no log, no metrics. Not for
production: it exists so ``make bench-serving`` can say what BentoML and the canary cost.
"""

from __future__ import annotations

import pandas as pd
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.registry import CHAMPION
from core.settings import load_settings
from serving.models import load_alias
from serving.schema import service_models


def build() -> Starlette:
    settings = load_settings()
    from features.store import OnlineFeatures

    features, champion = OnlineFeatures(settings), load_alias(settings, CHAMPION)
    if champion is None:
        raise RuntimeError("no champion in the registry")
    request_model = service_models(settings.schema_).request

    def predict(request: Request, body: bytes) -> JSONResponse:
        parsed = request_model.model_validate_json(body)
        frame = features(pd.DataFrame([parsed.model_dump(exclude={"request_id"})]))
        return JSONResponse({"probability": champion.risk(frame), "model_version": champion.version})

    async def endpoint(request: Request) -> JSONResponse:
        return await run_in_threadpool(predict, request, await request.body())

    return Starlette(routes=[Route("/predict", endpoint, methods=["POST"])])
