"""The one error model: every shape BentoML and Starlette answer errors in, and the document made true."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from serving.errors import ErrorBody, error_body, true_document

pytestmark = pytest.mark.unit


def test_pydantic_errors_become_problems_naming_their_fields() -> None:
    raw = json.dumps(
        {
            "error": "2 validation error for ScoringRequestIODescriptor",
            "detail": [
                {"type": "float_type", "loc": ["age"], "msg": "Input should be a valid number"},
                {"type": "missing", "loc": ["nested", 0, "x"], "msg": "Field required"},
            ],
        }
    ).encode()
    body = error_body(400, raw)
    assert body.field == "age" and body.error == "invalid request: age: Input should be a valid number (and 1 more)"
    assert [(p.field, p.type) for p in body.problems] == [("age", "float_type"), ("nested.0.x", "missing")]


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b'[{"error": "payload too large: over 65536 bytes"}]', "payload too large: over 65536 bytes"),  # BentoML 4xx
        (b'{"error": "An unexpected error has occurred"}', "An unexpected error has occurred"),  # BentoML 5xx
        (b"Method Not Allowed", "Method Not Allowed"),  # Starlette's router, plain text
        (b"", "Service Unavailable"),  # nothing said: the status's phrase
        (b'{"detail": [{"type": "json_invalid", "loc": [], "msg": "Invalid JSON"}]}', "invalid request: Invalid JSON"),
    ],
)
def test_every_shape_of_error_becomes_the_one_model(raw: bytes, error: str) -> None:
    body = error_body(503 if not raw else 400, raw)
    assert body.error == error and body.problems
    assert ErrorBody.model_validate_json(body.model_dump_json()) == body


class Request(BaseModel):
    name: str
    income: float | None = None


def test_the_document_declares_the_error_model_required_bodies_and_nulls() -> None:
    operation = {
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}, "income": {"type": "number", "default": None}},
                    }
                }
            }
        },
        "responses": {"200": {"description": "ok"}, "400": {"$ref": "#/components/schemas/InvalidArgument"}},
    }
    document = {
        "paths": {"/predict": {"post": operation}, "/readyz": {"get": {"responses": {"200": {}}}}},
        "components": {"schemas": {"InvalidArgument": {}}},
    }
    made = true_document(document, {"/predict": Request})
    schemas = made["components"]["schemas"]
    assert "InvalidArgument" not in schemas and {"ErrorBody", "Problem"} <= set(schemas)
    assert schemas["ErrorBody"]["properties"]["field"]["nullable"] is True  # OpenAPI 3.0, not a null type
    predict = made["paths"]["/predict"]["post"]
    assert predict["requestBody"]["required"] is True
    assert predict["requestBody"]["content"]["application/json"]["schema"]["properties"]["income"]["nullable"] is True
    assert set(predict["responses"]) == {"200", "400", "413", "415", "500", "503"}
    assert set(made["paths"]["/readyz"]["get"]["responses"]) == {"200", "413", "500", "503"}
