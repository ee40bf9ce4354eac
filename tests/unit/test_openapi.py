"""The served OpenAPI document is valid and describes every endpoint the worker serves."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from streamapp.openapi import openapi_document


def test_openapi_document_is_valid_openapi_3_1() -> None:
    validate(openapi_document())


def test_openapi_document_lists_every_endpoint_and_secures_the_mutating_ones() -> None:
    paths = openapi_document()["paths"]
    expected = {
        "/health",
        "/v1/score",
        "/v1/models",
        "/v1/models/{name}",
        "/v1/policy",
        "/v1/control/history",
        "/v1/requests/{request_id}",
        "/openapi.json",
    }
    assert set(paths) == expected
    assert paths["/v1/models/{name}"]["put"]["security"] == [{"adminToken": []}]
    assert paths["/v1/policy"]["put"]["security"] == [{"adminToken": []}]
    assert "security" not in paths["/v1/models"]["get"]


def test_openapi_schemas_have_no_dangling_references() -> None:
    document = openapi_document()
    text = json.dumps(document)
    for name in document["components"]["schemas"]:
        text = text.replace(f'"#/components/schemas/{name}"', '"ok"')
    assert "#/" not in text
