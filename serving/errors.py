"""One error model for every 4xx and 5xx the service sends, and an OpenAPI document that says so.

BentoML 1.4 answers errors in several shapes: a pydantic error list under ``detail``
for bad input (its document declares ``detail`` a string), a one-item list for other
client errors, plain text from the router (404, 405) and the probes, and a 500 when a
body arrives in a media type it parses badly (``multipart/form-data`` without a
boundary). It has no hook for either its error bodies or its document, but it does take
ASGI middleware (``Service.add_asgi_middleware``), and this one:

* refuses a request body in any media type but JSON with a 415 before BentoML reads it
  (the document declares ``application/json`` only);
* rewrites every answer of 400 and above into ``ErrorBody``: ``error`` says what was
  wrong, ``field`` names the first field at fault (null when the body as a whole was),
  ``problems`` lists each problem with its field;
* serves ``/docs.json`` made true: the error answers of every route point at
  ``ErrorBody``, and request bodies with required fields are marked required.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCUMENT_PATH = "/docs.json"
JSON = "application/json"
REF = "#/components/schemas/{model}"
# What every route can answer besides its own: a body over the limit, a failure, and
# a service that is not ready (the probes) or took too long.
COMMON = (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.SERVICE_UNAVAILABLE)
# What a route with a request body can answer besides: bad input, and a body in another media type.
WITH_BODY = (HTTPStatus.BAD_REQUEST, HTTPStatus.UNSUPPORTED_MEDIA_TYPE)


class Problem(BaseModel):
    """One thing wrong with a request."""

    field: str | None = Field(description="the field at fault, dotted for nested ones; null for the whole body")
    message: str
    type: str = Field(description="a stable code for the kind of problem, e.g. missing, float_type, json_invalid")


class ErrorBody(BaseModel):
    """What every 4xx and 5xx answer of the service carries."""

    error: str = Field(description="what was wrong, in one line")
    field: str | None = Field(description="the first field at fault; null when no one field was")
    problems: list[Problem] = Field(description="every problem found, each with its field")


def _field(location: Iterable[Any]) -> str | None:
    parts = [str(p) for p in location]
    return ".".join(parts) or None


def _problems_of(detail: Any) -> list[Problem]:
    """Pydantic's error list (as BentoML forwards it) as problems."""
    if not isinstance(detail, list):
        return []
    problems = []
    for item in detail:
        if isinstance(item, dict) and "msg" in item:
            problems.append(
                Problem(field=_field(item.get("loc") or ()), message=str(item["msg"]), type=str(item.get("type", "")))
            )
    return problems


def error_body(status: int, raw: bytes) -> ErrorBody:
    """Whatever BentoML, Starlette or a middleware answered with ``status``, in the one model."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "error"
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    if isinstance(parsed, list) and len(parsed) == 1:  # BentoML wraps a 4xx's message in a one-item list
        parsed = parsed[0]
    if isinstance(parsed, dict) and set(parsed) == {"error", "field", "problems"}:
        return ErrorBody.model_validate(parsed)
    problems = _problems_of(parsed.get("detail")) if isinstance(parsed, dict) else []
    if problems:
        first = problems[0]
        where = f"{first.field}: " if first.field else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return ErrorBody(error=f"invalid request: {where}{first.message}{more}", field=first.field, problems=problems)
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        message = parsed["error"]
    elif parsed is None and raw:
        message = raw.decode("utf-8", "replace").strip()[:500] or phrase
    else:
        message = phrase
    return ErrorBody(error=message, field=None, problems=[Problem(field=None, message=message, type=f"http_{status}")])


def _error_response(
    status: int, body: ErrorBody, headers: Iterable[tuple[bytes, bytes]] = ()
) -> tuple[Message, Message]:
    """The answer's messages; ``headers`` (the original answer's, e.g. a 405's ``Allow``) stay but for the body's."""
    content = body.model_dump_json().encode()
    kept = [(k, v) for k, v in headers if k.lower() not in (b"content-type", b"content-length")]
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [*kept, (b"content-type", JSON.encode()), (b"content-length", str(len(content)).encode())],
    }
    return start, {"type": "http.response.body", "body": content, "more_body": False}


def _responses(statuses: Iterable[HTTPStatus]) -> dict[str, Any]:
    schema = {"$ref": REF.format(model="ErrorBody")}
    return {str(s.value): {"description": s.phrase, "content": {JSON: {"schema": schema}}} for s in statuses}


def _nullable(node: Any) -> Any:
    """JSON Schema's ``anyOf [..., {"type": "null"}]`` as OpenAPI 3.0's ``nullable``, everywhere in ``node``."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable(value) for key, value in node.items()}
    options = node.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        node.pop("anyOf")
        if len(rest) == 1:
            node.update(rest[0])
        else:
            node["anyOf"] = rest
        node["nullable"] = True
    return node


def _mark_nullable(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Mark the request fields that take null (BentoML's flattening drops the null of an optional field)."""
    for name, spec in model.model_json_schema().get("properties", {}).items():
        if {"type": "null"} in spec.get("anyOf", []) and name in schema.get("properties", {}):
            schema["properties"][name]["nullable"] = True


def true_document(document: dict[str, Any], requests: dict[str, type[BaseModel]] | None = None) -> dict[str, Any]:
    """BentoML's OpenAPI document, made to say what the service really answers.

    ``requests``: the request model of each route, to mark which of its fields take null.
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for old in ("InvalidArgument", "NotFound", "InternalServerError"):
        schemas.pop(old, None)
    for name, schema in ErrorBody.model_json_schema(ref_template=REF)["$defs"].items():
        schemas[name] = schema
    schemas["ErrorBody"] = {k: v for k, v in ErrorBody.model_json_schema(ref_template=REF).items() if k != "$defs"}
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = {k: v for k, v in operation["responses"].items() if str(k).startswith("2")}
            body = operation.get("requestBody")
            statuses = (*WITH_BODY, *COMMON) if body else COMMON
            operation["responses"] = {**responses, **_responses(statuses)}
            if body:
                schema = body.get("content", {}).get(JSON, {}).get("schema", {})
                body["required"] = bool(schema.get("required"))
                if path in (requests or {}):
                    _mark_nullable(schema, (requests or {})[path])
    return dict(_nullable(document))


class ErrorModel:
    """ASGI middleware: refuse non-JSON bodies, answer errors in ``ErrorBody``, serve the true document."""

    def __init__(self, app: ASGIApp, requests: dict[str, type[BaseModel]]) -> None:
        """``requests``: each API route and the model of its request body (BentoML's ``input_spec``)."""
        self.app, self.requests = app, dict(requests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if method == "POST" and path in self.requests:
            media = dict(scope.get("headers") or []).get(b"content-type")
            kind = media.decode("latin-1").split(";")[0].strip().lower() if media is not None else JSON
            if kind != JSON:
                message = f"unsupported media type {kind or '(empty)'!r}: send {JSON}"
                body = ErrorBody(
                    error=message, field=None, problems=[Problem(field=None, message=message, type="media_type")]
                )
                for part in _error_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, body):
                    await send(part)
                return
        document = method == "GET" and path == DOCUMENT_PATH
        held: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def rewriting(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] >= 400 or (document and message["status"] == 200):
                    held["start"] = message
                    return
                await send(message)
                return
            if message["type"] != "http.response.body" or "start" not in held:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            status, raw = held["start"]["status"], b"".join(chunks)
            if status >= 400:
                start, end = _error_response(status, error_body(status, raw), held["start"].get("headers", ()))
            else:
                content = json.dumps(true_document(json.loads(raw), self.requests)).encode()
                start = {**held["start"], "headers": _replace_length(held["start"].get("headers", ()), len(content))}
                end = {"type": "http.response.body", "body": content, "more_body": False}
            await send(start)
            await send(end)

        await self.app(scope, receive, rewriting)


def _replace_length(headers: Iterable[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]
