"""The OpenAPI document of the worker's REST API, built from the same schemas the views use."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from streamapp.core.codec import json_schema
from streamapp.core.control import ModelUpdate, PolicyUpdate
from streamapp.core.records import Answer


def _schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """Component schemas for pydantic models, their nested definitions lifted alongside."""
    found: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json("Error")}


SCORE_BODY = {
    "type": "object",
    "required": ["payload"],
    "properties": {
        "request_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 256,
            "description": "generated when absent",
        },
        "payload": {"type": "object", "description": "the model input"},
        "deadline_ms": {"type": "integer", "description": "budget; default and bounds in settings"},
        "sent_at": {"type": "number"},
    },
}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
}
SECURED: list[dict[str, list[str]]] = [{"adminToken": []}]
#: The read token, or the admin token, or none at all when the worker sets no read token.
READ_SECURED: list[dict[str, list[str]]] = [{"readToken": []}, {"adminToken": []}, {}]
AUTH_ERRORS = {"401": _error("no bearer token"), "403": _error("wrong token, or none configured")}
READ_AUTH_ERRORS = {
    "401": _error("a read token is configured and no bearer token was sent"),
    "403": _error("neither the read token nor the admin token"),
}
TOO_LARGE = {"413": _error("the body is over RENDEZVOUS_MAX_BODY_BYTES")}
#: Bounds the views enforce and the document states: the latest epoch ms ``since``/``until``
#: of ``/v1/stats`` accept (the year 2286), and the most changes the history shows at once.
MAX_EPOCH_MS = 10**13
HISTORY_LIMIT = 1000
DESCRIPTION = (
    'Every error is JSON: {"error": "..."}, with "field" when one part of the request '
    "is wrong; also 404 for an unknown path, 405 (with Allow) for a method a path does not "
    "serve, 413 for a body over the limit, 500 for a fault of the worker."
)


#: The Open Inference Protocol (KServe v2 REST) front: the rendezvous as one model.
OIP_TENSORS = {
    "type": "array",
    "items": {"type": "object", "required": ["name", "shape", "datatype", "data"]},
}
OIP_INFER_BODY = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "id": {"type": "string", "description": "the request id (one row), or its prefix"},
        "parameters": {"type": "object", "description": "deadline_ms, sent_at"},
        "inputs": OIP_TENSORS,
        "outputs": {"type": "array"},
    },
}


def _oip_paths() -> dict[str, Any]:
    """``/v2/...``: infer, model metadata and readiness, server readiness and liveness."""
    readiness = {"200": {"description": "ready"}, "503": {"description": "not ready"}}
    return {
        "/v2/models/rendezvous/infer": {
            "post": {
                "summary": "OIP inference: each row a request, the official answers as outputs "
                "(status, model, model_version, rule, policy_version as parameters)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": OIP_INFER_BODY}},
                },
                "responses": {
                    "200": {"description": "outputs (none for a no_result row)"},
                    "400": _error("not JSON, or tensors that do not fit"),
                    "409": _error("a request id in use or in flight"),
                    **TOO_LARGE,
                    "415": _error("binary tensor data, or not JSON"),
                    "422": _error("invalid or rejected request"),
                    "503": _error("not ready yet, or too far behind for the deadline"),
                    "504": _error("no answer in time"),
                },
            }
        },
        "/v2/models/rendezvous": {
            "get": {
                "summary": "OIP model metadata (versions: the policy version)",
                "responses": {"200": {"description": "metadata"}},
            }
        },
        "/v2/models/rendezvous/ready": {
            "get": {"summary": "OIP model readiness", "responses": readiness}
        },
        "/v2/health/ready": {"get": {"summary": "OIP server readiness", "responses": readiness}},
        "/v2/health/live": {
            "get": {"summary": "OIP server liveness", "responses": {"200": {"description": "live"}}}
        },
    }


def _query(name: str, description: str, *, minimum: int, maximum: int) -> dict[str, Any]:
    """An integer query parameter: ASCII digits within bounds, else 422 naming it."""
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": "integer", "minimum": minimum, "maximum": maximum},
    }


def _answer_schema() -> dict[str, Any]:
    """The Answer record's schema with its nested Candidate inlined under components."""
    schema = json_schema(Answer)
    defs = schema.pop("$defs", {})
    text = json.dumps(schema)
    for name, definition in defs.items():
        text = text.replace(f'{{"$ref": "#/$defs/{name}"}}', json.dumps(definition))
    result: dict[str, Any] = json.loads(text)
    return result


def openapi_document(*, title: str = "rendezvous worker", version: str = "1") -> dict[str, Any]:
    """The whole document (OpenAPI 3.1)."""
    models_put = {
        **AUTH_ERRORS,
        **TOO_LARGE,
        "400": _error("body is not JSON"),
        "404": _error("unknown model"),
        "422": _error("a field is wrong, or a change the registry refuses (the canary set live)"),
        "504": _error("sent but not applied in time"),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": DESCRIPTION},
        "components": {
            "securitySchemes": {
                "adminToken": {"type": "http", "scheme": "bearer"},
                "readToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "RENDEZVOUS_READ_TOKEN; needed only when the worker sets one",
                },
            },
            "schemas": {
                **_schemas(ModelUpdate, PolicyUpdate),
                "Answer": _answer_schema(),
                "ScoreRequest": SCORE_BODY,
                "Error": ERROR,
            },
        },
        "paths": {
            "/health": {
                "get": {
                    "summary": "readiness of this worker",
                    "responses": {
                        "200": {"description": "ready"},
                        "503": {"description": "recovering"},
                    },
                }
            },
            "/v1/score": {
                "post": {
                    "summary": "send a request into the stream and wait for its official answer",
                    "requestBody": {"required": True, "content": _json("ScoreRequest")},
                    "responses": {
                        "200": {"description": "ok or no_result", "content": _json("Answer")},
                        "400": _error("body is not JSON"),
                        "409": _error("the request id is in use with another payload"),
                        **TOO_LARGE,
                        "415": _error("the body is not sent as application/json"),
                        "422": _error("invalid or rejected request"),
                        "503": _error("not ready yet, or too far behind for the deadline"),
                        "504": _error("no answer in time"),
                    },
                }
            },
            "/v1/models": {
                "get": {
                    "summary": "every model in the registry, with its version",
                    "responses": {"200": {"description": "the registry"}},
                }
            },
            "/v1/models/{name}": {
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "get": {
                    "summary": "one model",
                    "responses": {
                        "200": {"description": "the model"},
                        "404": _error("unknown model"),
                    },
                },
                "put": {
                    "summary": "change state, priority, backstop, weight or labels, live",
                    "security": SECURED,
                    "requestBody": {"required": True, "content": _json("ModelUpdate")},
                    "responses": {"200": {"description": "applied"}, **models_put},
                },
            },
            "/v1/policy": {
                "get": {
                    "summary": "schedule steps and random split",
                    "responses": {"200": {"description": "the policy"}},
                },
                "put": {
                    "summary": "edit the policy, live",
                    "security": SECURED,
                    "requestBody": {"required": True, "content": _json("PolicyUpdate")},
                    "responses": {
                        "200": {"description": "applied"},
                        **AUTH_ERRORS,
                        **TOO_LARGE,
                        "400": _error("body is not JSON"),
                        "422": _error("a field is wrong"),
                        "504": _error("sent but not applied in time"),
                    },
                },
            },
            "/v1/control/history": {
                "get": {
                    "summary": "applied changes, newest first",
                    "parameters": [
                        _query("limit", "how many (default 100)", minimum=1, maximum=HISTORY_LIMIT)
                    ],
                    "responses": {
                        "200": {"description": "changes"},
                        "422": _error("limit is not an integer within its bounds"),
                    },
                }
            },
            "/v1/requests": {
                "get": {
                    "summary": "the latest answers of every worker, newest first, filtered",
                    "security": READ_SECURED,
                    "parameters": [
                        _query("limit", "how many (default 50)", minimum=1, maximum=1000),
                        *(
                            {
                                "name": name,
                                "in": "query",
                                "description": f"only answers with this {what}",
                                "schema": {"type": "string"},
                            }
                            for name, what in (
                                ("rule", "policy rule"),
                                ("status", "status (ok, no_result, rejected)"),
                                ("model", "winning model"),
                            )
                        ),
                    ],
                    "responses": {
                        "200": {"description": "answers: request id, status, rule, model, times"},
                        **READ_AUTH_ERRORS,
                        "422": _error("limit is not an integer within its bounds"),
                    },
                }
            },
            "/v1/requests/{request_id}": {
                "get": {
                    "summary": "a request's mailbox timeline (any worker answers)",
                    "security": READ_SECURED,
                    "parameters": [
                        {
                            "name": "request_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "timeline"},
                        **READ_AUTH_ERRORS,
                        "404": _error("unknown or expired"),
                    },
                }
            },
            "/v1/stats": {
                "get": {
                    "summary": "per-model latency, win rates and agreement over a window",
                    "parameters": [
                        _query(
                            "since",
                            "start of the window, epoch ms (default: an hour before until)",
                            minimum=0,
                            maximum=MAX_EPOCH_MS,
                        ),
                        _query(
                            "until",
                            "end of the window, epoch ms (default: now)",
                            minimum=0,
                            maximum=MAX_EPOCH_MS,
                        ),
                        {
                            "name": "model",
                            "in": "query",
                            "description": "comma-separated model names to report",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "buckets",
                            "in": "query",
                            "description": "1 or true: include the per-minute buckets",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {"description": "the statistics report"},
                        "422": _error(
                            "since or until is not an integer within bounds, or "
                            "since is after until"
                        ),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "this worker's metrics in the Prometheus text format",
                    "responses": {
                        "200": {
                            "description": "Prometheus exposition format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "this document",
                    "responses": {"200": {"description": "OpenAPI 3.1"}},
                }
            },
            **_oip_paths(),
        },
    }
