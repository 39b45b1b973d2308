"""The service over real HTTP: answers, bad input, canary routing, challenger failures."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pandas as pd
import pytest

from core import registry
from features import store
from features.engineering import FeatureColumns
from serving.canary import CanaryState, write_state
from serving.controller import wait_until_routing
from serving.schema import request_bodies
from tests.conftest import LINEAGE
from tests.serving.conftest import Server, register_model
from tests.serving.test_serving_schema import GOOD

pytestmark = pytest.mark.e2e


def post(server: Server, body: Any, raw: str | None = None) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body)
    return httpx.post(
        server.url + "/predict", content=content, headers={"content-type": "application/json"}, timeout=30
    )


def applicants(frame: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    """Real applications from the data, one per customer, as requests."""
    from core.settings import load_settings

    return request_bodies(frame, load_settings().schema_, n, one_per_entity=True)


def set_canary(server: Server, state: CanaryState) -> None:
    """Write the canary state and wait until the service routes by it."""
    write_state(server.settings, state)
    wait_until_routing(server.url, state)


def test_an_answer_names_its_model_in_body_and_headers(served: tuple[Server, pd.DataFrame]) -> None:
    server, _ = served
    answer = post(server, {**GOOD, "request_id": "req-1"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["request_id"] == "req-1" and body["variant"] == "champion" and body["model_version"] == "1"
    assert answer.headers["x-model-version"] == "1" and answer.headers["x-model-variant"] == "champion"
    assert 0 < body["probability"] < 1 and body["decision"] in {"approve", "decline"}
    assert httpx.get(server.url + "/healthz").status_code == 200
    metrics = httpx.get(server.url + "/metrics").text
    assert 'credit_requests_total{model_version="1",variant="champion"}' in metrics
    for stage in ("features", "route", "model", "decision", "log", "metrics"):  # where each request's time went
        assert f'credit_stage_seconds_count{{stage="{stage}"}}' in metrics, stage


def test_explain_gives_the_top_features_that_add_up_to_the_answer(served: tuple[Server, pd.DataFrame]) -> None:
    server, _ = served
    body = {**GOOD, "request_id": "why-1"}
    reply = httpx.post(server.url + "/explain", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    explained = reply.json()
    assert explained["request_id"] == "why-1" and explained["model_version"] == "1"
    assert reply.headers["x-model-version"] == "1" and explained["method"].startswith("linear")
    top = explained["top_features"]
    assert len(top) == server.settings.governance.explain_top_k
    sizes = [abs(t["contribution"]) for t in top]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 0
    assert {t["feature"] for t in top} <= set(store.model_feature_columns(server.settings).all)
    log_odds = explained["base_value"] + sum(t["contribution"] for t in top) + explained["rest"]
    assert 1 / (1 + math.exp(-log_odds)) == pytest.approx(explained["probability"], abs=1e-4)
    decided = post(server, body).json()
    assert decided["probability"] == pytest.approx(explained["probability"], abs=1e-6)
    refused = httpx.post(server.url + "/explain", json={**GOOD, "age": 7}, timeout=30)
    assert refused.status_code == 400 and "age" in refused.text


def test_every_answer_is_in_the_prediction_log(served: tuple[Server, pd.DataFrame]) -> None:
    server, _ = served
    post(server, {**GOOD, "request_id": "logged-once"})
    from serving.prediction_log import read

    (entry,) = [e for e in read(server.settings.predictions_dir) if e["request_id"] == "logged-once"]
    assert entry["model_version"] == "1" and entry["variant"] == "champion"
    # Issue 20: the answer leads back to the data its model learned from (the version's registry tags).
    assert (entry["data_version"], entry["features_version"]) == (LINEAGE["data_version"], LINEAGE["features_version"])
    assert entry["features"]["loan_amount"] == GOOD["loan_amount"] and "events_90d" in entry["features"]


@pytest.mark.parametrize(
    ("raw", "status", "named"),
    [
        ("{not json", 400, "json_invalid"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "age"}), 400, "age"),
        (json.dumps({**GOOD, "favourite_colour": "blue"}), 400, "favourite_colour"),
        (json.dumps({**GOOD, "loan_amount": "lots"}), 400, "loan_amount"),
        (json.dumps(GOOD).replace('"age": 37.0', '"age": NaN'), 400, "finite"),
        (json.dumps(GOOD).replace('"age": 37.0', '"age": Infinity'), 400, "finite"),
        (json.dumps({**GOOD, "credit_utilization": 7}), 400, "credit_utilization"),
        (json.dumps({**GOOD, "region": "atlantis"}), 400, "region"),
        (json.dumps({**GOOD, "customer_id": "x" * 2_000_000}), 413, "payload too large"),
    ],
    ids=["malformed", "missing", "extra", "wrong-type", "nan", "infinity", "out-of-range", "category", "oversized"],
)
def test_bad_input_gets_a_4xx_naming_the_problem(
    served: tuple[Server, pd.DataFrame], raw: str, status: int, named: str
) -> None:
    server, _ = served
    answer = post(server, None, raw=raw)
    assert answer.status_code == status
    assert named in answer.text
    body = answer.json()  # issue 20: the one error model, what was wrong and which field
    assert set(body) == {"error", "field", "problems"} and body["problems"], body
    assert post(server, GOOD).status_code == 200  # and the service stays up


@pytest.mark.parametrize("route", ["/predict", "/explain", "/canary"])
def test_a_body_in_another_media_type_is_a_4xx_not_a_500(served: tuple[Server, pd.DataFrame], route: str) -> None:
    server, _ = served
    # Issue 20: multipart without a boundary raised inside BentoML and answered 500.
    for media in ("multipart/form-data", "text/plain", "application/x-www-form-urlencoded"):
        answer = httpx.post(server.url + route, content=json.dumps(GOOD), headers={"content-type": media})
        assert answer.status_code == 415, (media, answer.text)
        assert answer.json()["error"].startswith("unsupported media type"), answer.text


def test_a_boolean_for_a_number_is_refused_naming_the_field(served: tuple[Server, pd.DataFrame]) -> None:
    server, _ = served
    answer = post(server, {**GOOD, "num_credit_inquiries_6m": False})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["field"] == "num_credit_inquiries_6m" and body["problems"][0]["type"] == "float_type", body


def test_the_document_declares_every_error_answer(served: tuple[Server, pd.DataFrame]) -> None:
    server, _ = served
    document = httpx.get(server.url + "/docs.json").json()
    assert "ErrorBody" in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for operation in operations.values():
            errors = {code: r for code, r in operation["responses"].items() if int(code) >= 400}
            assert {"413", "500", "503"} <= set(errors), path
            refs = {r["content"]["application/json"]["schema"]["$ref"] for r in errors.values()}
            assert refs == {"#/components/schemas/ErrorBody"}, path
    predict = document["paths"]["/predict"]["post"]["requestBody"]
    assert predict["required"] is True
    assert predict["content"]["application/json"]["schema"]["properties"]["credit_history_years"]["nullable"] is True


def test_an_unknown_customer_is_a_first_time_applicant(served: tuple[Server, pd.DataFrame]) -> None:
    server, _ = served
    answer = post(server, {**GOOD, "customer_id": "NEVER-SEEN-BEFORE"})
    assert answer.status_code == 200  # the documented default: no history, scored as such


def test_routing_follows_the_weight_and_is_sticky(served: tuple[Server, pd.DataFrame]) -> None:
    server, frame = served
    version = register_model(server.settings, frame, registry.CHALLENGER)
    requests = applicants(frame, 250)
    try:
        set_canary(server, CanaryState(challenger_version=version, weight=40))
        replies = [post(server, r) for r in requests]
        assert all(r.status_code == 200 for r in replies), [r.text for r in replies if r.status_code != 200][:3]
        first = [r.json()["variant"] for r in replies]
        share = first.count("challenger") / len(first)
        assert 0.28 < share < 0.52  # 40% of 250, within about three standard errors
        again = [post(server, r).json()["variant"] for r in requests]
        assert again == first  # one applicant, one model, while the weight holds
    finally:
        set_canary(server, CanaryState())
    assert {post(server, r).json()["variant"] for r in requests[:20]} == {"champion"}


def test_a_failing_challenger_is_answered_for_by_the_champion(served: tuple[Server, pd.DataFrame]) -> None:
    server, frame = served
    # A challenger that needs a column no request has: it raises on every call.
    columns = FeatureColumns(("loan_amount", "column_that_never_arrives"), ())
    broken = register_model(server.settings, frame.assign(column_that_never_arrives=1.0), registry.CHALLENGER, columns)
    requests = applicants(frame, 40)
    try:
        set_canary(server, CanaryState(challenger_version=broken, weight=100))
        answers = [post(server, r) for r in requests]
        explained = httpx.post(server.url + "/explain", json=requests[0], timeout=30)
    finally:
        set_canary(server, CanaryState())
    assert all(a.status_code == 200 for a in answers)
    assert {a.json()["variant"] for a in answers} == {"champion"}
    assert explained.status_code == 200 and explained.json()["variant"] == "champion"  # explained by who answered
    assert (
        'credit_errors_total{kind="challenger_fallback",variant="challenger"}'
        in httpx.get(server.url + "/metrics").text
    )


def test_in_shadow_mode_the_champion_answers_and_the_challenger_is_logged(served: tuple[Server, pd.DataFrame]) -> None:
    server, frame = served
    version = register_model(server.settings, frame, registry.CHALLENGER)
    requests = [{**r, "request_id": f"shadow-{i}"} for i, r in enumerate(applicants(frame, 30))]
    try:
        set_canary(server, CanaryState(challenger_version=version, weight=50, shadow=True))
        answers = [post(server, r) for r in requests]
    finally:
        set_canary(server, CanaryState())
    assert {a.json()["variant"] for a in answers} == {"champion"}
    from serving.prediction_log import read

    logged = [e for e in read(server.settings.predictions_dir) if str(e["request_id"]).startswith("shadow-")]
    assert len(logged) == 30
    assert all(e["shadow_version"] == version and 0 < e["shadow_probability"] < 1 for e in logged)
