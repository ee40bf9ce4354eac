"""The REST front speaking the Open Inference Protocol: the rendezvous as one model.

``POST /v2/models/rendezvous/infer`` turns each row of the input tensors into a request (the
score proxy's round trip), and the official answers into output tensors. The answer's status,
model, model version, rule and policy version travel as OIP ``parameters``: scalars for one
row, lists (one value per row) for several. A KServe or Triton client calls it like any model.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from faust.web import Request, Response, View
from pydantic_settings import BaseSettings, SettingsConfigDict

from streamapp.app import app
from streamapp.core.oip import MappingError, OipMapping, parse_mapping
from streamapp.core.oip_front import outputs_from_results, payloads_from_inputs
from streamapp.core.oip_tensors import TensorError
from streamapp.core.records import Answer
from streamapp.core.records import Request as RequestRecord
from streamapp.core.rendezvous import is_in_use
from streamapp.web import score_proxy
from streamapp.web.problems import HTTPProblem, json_body, problem_response
from streamapp.worker import registry_cache

MODEL_NAME = "rendezvous"
#: The most rows one call may carry (each is a request of its own).
MAX_ROWS = 256
#: What the answer says about itself, as OIP parameters.
ANSWER_PARAMETERS = ("request_id", "status", "model", "model_version", "rule", "policy_version")


class OipFrontSettings(BaseSettings):
    """``RENDEZVOUS_OIP_MAPPING``: a JSON mapping file for the front (default: named inputs
    become ``payload.features``; a BYTES input named ``payload`` carries a whole payload)."""

    model_config = SettingsConfigDict(env_prefix="RENDEZVOUS_OIP_", frozen=True, extra="ignore")

    mapping: Path | None = None

    def load_mapping(self) -> OipMapping | None:
        """The declared mapping, or None for the default."""
        if self.mapping is None:
            return None
        try:
            return parse_mapping(json.loads(self.mapping.read_text()))
        except (OSError, ValueError) as error:
            raise MappingError(f"RENDEZVOUS_OIP_MAPPING {self.mapping}: {error}") from None


MAPPING = OipFrontSettings().load_mapping()


def _ready() -> bool:
    recovery = app.tables.recovery  # type: ignore[attr-defined]  # TableManager has it
    return bool(recovery.completed.is_set() and not app.rebalancing) and (score_proxy.listening())


def _check_content_type(request: Request) -> None:
    declared = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if request.headers.get("Inference-Header-Content-Length") is not None:
        raise HTTPProblem(415, "binary tensor data is not supported; send the tensors as JSON")
    if declared not in ("", "application/json"):
        raise HTTPProblem(415, f"the body must be JSON, not {declared!r}")


def _parameter(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def infer_response(call_id: str, answers: list[Answer]) -> dict[str, Any]:
    """The OIP response for the official answers of a call's rows."""
    parameters = {
        name: _parameter([getattr(answer, name) for answer in answers])
        for name in ANSWER_PARAMETERS
    }
    if any(answer.reason for answer in answers):
        parameters["reason"] = _parameter([answer.reason for answer in answers])
    parameters["late"] = _parameter([answer.late for answer in answers])
    results = [answer.result if answer.status == "ok" else None for answer in answers]
    return {
        "model_name": MODEL_NAME,
        "model_version": str(max(answer.policy_version for answer in answers)),
        "id": call_id,
        "parameters": parameters,
        "outputs": outputs_from_results(results),
    }


def _stream_requests(body: Any) -> tuple[str, list[RequestRecord]]:
    """The call's id and one stream request per row (HTTPProblem when they do not fit)."""
    if not isinstance(body, dict):
        raise HTTPProblem(400, "the body must be a JSON object with inputs")
    try:
        payloads = payloads_from_inputs(MAPPING, body.get("inputs"))
    except TensorError as error:
        raise HTTPProblem(400, str(error), field="inputs") from None
    if len(payloads) > MAX_ROWS:
        raise HTTPProblem(400, f"{len(payloads)} rows; at most {MAX_ROWS} per call")
    call_id = body.get("id") or uuid.uuid4().hex
    parameters = body.get("parameters") or {}
    if not isinstance(call_id, str) or not isinstance(parameters, dict):
        raise HTTPProblem(400, "id must be a string and parameters an object")
    common = {k: parameters[k] for k in ("deadline_ms", "sent_at") if k in parameters}
    rows = []
    for i, payload in enumerate(payloads):
        request_id = call_id if len(payloads) == 1 else f"{call_id}-{i}"
        fields = {"request_id": request_id, "payload": payload, **common}
        rows.append(score_proxy.request_from_body(fields))
    return call_id, rows


@app.page(f"/v2/models/{MODEL_NAME}/infer")
class OipInfer(View):
    """``POST``: each row a request; the official answers as output tensors."""

    async def post(self, request: Request) -> Response:
        """200 with the outputs (a ``no_result`` row leaves no outputs), 400 for tensors that
        do not fit, 409 for a request id in use, 422 rejected, 503 not ready, 504 time-out."""
        try:
            _check_content_type(request)
            call_id, rows = _stream_requests(await json_body(request))
            for row in rows:
                refused = score_proxy.admit(row)
                if refused is not None:
                    return refused
            answers = await asyncio.gather(*(score_proxy.round_trip(row) for row in rows))
        except HTTPProblem as problem:
            return problem_response(self, problem)
        for answer in answers:
            if answer.status == "rejected":
                status = 409 if is_in_use(answer.reason) else 422
                error = f"request {answer.request_id!r} rejected: {answer.reason}"
                return self.json({"error": error, "request_id": answer.request_id}, status=status)
        return self.json(infer_response(call_id, list(answers)))


@app.page(f"/v2/models/{MODEL_NAME}")
class OipModelMetadata(View):
    """``GET``: the model's metadata; its version is the policy version."""

    async def get(self, request: Request) -> Response:
        """Name, versions, platform, and the inputs the mapping declares."""
        specs = MAPPING.inputs if MAPPING is not None and MAPPING.inputs is not None else ()
        inputs = [
            {"name": spec.name, "datatype": spec.datatype, "shape": [-1, *(spec.shape or [-1])]}
            for spec in specs
        ]
        body = {
            "name": MODEL_NAME,
            "versions": [str(registry_cache.current_doc().version)],
            "platform": "rendezvous",
            "inputs": inputs,
            "outputs": [],
        }
        return self.json(body)


@app.page(f"/v2/models/{MODEL_NAME}/ready")
class OipModelReady(View):
    """``GET``: 200 when this worker answers requests, else 503."""

    async def get(self, request: Request) -> Response:
        """Readiness of the one model."""
        ready = _ready()
        return self.json({"name": MODEL_NAME, "ready": ready}, status=200 if ready else 503)


@app.page("/v2/health/ready")
class OipServerReady(View):
    """``GET``: 200 when this worker has recovered and its reply listener runs, else 503."""

    async def get(self, request: Request) -> Response:
        """Readiness of the server."""
        ready = _ready()
        return self.json({"ready": ready}, status=200 if ready else 503)


@app.page("/v2/health/live")
class OipServerLive(View):
    """``GET``: 200 while the worker serves HTTP."""

    async def get(self, request: Request) -> Response:
        """Liveness."""
        return self.json({"live": True})
