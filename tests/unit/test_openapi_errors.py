"""The OpenAPI document states the errors and bounds the views enforce."""

from __future__ import annotations

from openapi_spec_validator import validate

from streamapp.web.openapi import HISTORY_LIMIT, MAX_EPOCH_MS, openapi_document


def test_the_inspector_takes_the_read_or_admin_token_or_none_and_documents_401_and_403() -> None:
    document = openapi_document()
    validate(document)
    inspector = document["paths"]["/v1/requests/{request_id}"]["get"]
    assert inspector["security"] == [{"readToken": []}, {"adminToken": []}, {}]
    assert {"401", "403", "404"} <= set(inspector["responses"])
    schemes = document["components"]["securitySchemes"]
    assert schemes["readToken"]["scheme"] == "bearer"


def test_the_score_endpoint_documents_json_only_and_the_body_limit() -> None:
    responses = openapi_document()["paths"]["/v1/score"]["post"]["responses"]
    assert {"409", "413", "415", "422", "503", "504"} <= set(responses)
    assert "application/json" in responses["415"]["description"]


def test_numeric_query_parameters_state_their_bounds_and_a_422() -> None:
    paths = openapi_document()["paths"]
    stats = paths["/v1/stats"]["get"]
    bounds = {
        p["name"]: p["schema"] for p in stats["parameters"] if p["schema"]["type"] == "integer"
    }
    assert bounds == {
        "since": {"type": "integer", "minimum": 0, "maximum": MAX_EPOCH_MS},
        "until": {"type": "integer", "minimum": 0, "maximum": MAX_EPOCH_MS},
    }
    assert "422" in stats["responses"]
    history = paths["/v1/control/history"]["get"]
    assert history["parameters"][0]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": HISTORY_LIMIT,
    }
    assert "422" in history["responses"]


def test_changes_document_the_body_limit_and_the_refused_canary() -> None:
    paths = openapi_document()["paths"]
    put_model = paths["/v1/models/{name}"]["put"]["responses"]
    assert "413" in put_model and "canary" in put_model["422"]["description"]
    assert "413" in paths["/v1/policy"]["put"]["responses"]
