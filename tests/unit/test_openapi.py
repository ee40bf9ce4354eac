"""The served OpenAPI document is valid and describes every endpoint the worker serves."""

from __future__ import annotations

import importlib
import json

import faust
from openapi_spec_validator import validate

from streamapp.web.openapi import openapi_document

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def served_routes() -> set[tuple[str, str]]:
    """(path, method) of every view the worker registers, read from the Faust app itself."""
    from streamapp.app import WORKER_MODULES, app

    for module in WORKER_MODULES:
        importlib.import_module(module)
    routes = set()
    for path, view in app.web.views.items():
        for method in HTTP_METHODS:
            if getattr(type(view), method) is not getattr(faust.web.View, method):
                routes.add((path, method))
    return routes


def documented_routes() -> set[tuple[str, str]]:
    """(path, method) of every operation in the OpenAPI document."""
    paths = openapi_document()["paths"]
    return {
        (path, method) for path, item in paths.items() for method in HTTP_METHODS if method in item
    }


def test_openapi_document_is_valid_openapi_3_1() -> None:
    validate(openapi_document())


def test_openapi_document_describes_exactly_the_routes_the_worker_serves() -> None:
    served = served_routes()
    assert ("/v1/score", "post") in served, "the app's routes were not found"
    assert documented_routes() == served


def test_openapi_document_secures_the_mutating_endpoints() -> None:
    paths = openapi_document()["paths"]
    assert paths["/v1/models/{name}"]["put"]["security"] == [{"adminToken": []}]
    assert paths["/v1/policy"]["put"]["security"] == [{"adminToken": []}]
    assert "security" not in paths["/v1/models"]["get"]


def test_openapi_schemas_have_no_dangling_references() -> None:
    document = openapi_document()
    text = json.dumps(document)
    for name in document["components"]["schemas"]:
        text = text.replace(f'"#/components/schemas/{name}"', '"ok"')
    assert "#/" not in text
