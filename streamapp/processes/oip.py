"""A model behind the Open Inference Protocol (KServe v2 REST): MLServer, Triton, KServe, ...

``rendezvous model NAME --oip http://host:port/v2/models/<model>`` runs the generic model
process with an :class:`OipModel`: the requests read together are sent in OIP calls of at most
``max_batch`` rows, at most ``concurrency`` calls at once, each bounded by its requests'
deadlines. A server error, a time-out or a 4xx becomes the Score's ``error`` with the status
and body. The version is the server's (``GET /v2/models/<model>``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from streamapp.core.oip import MappingError, OipMapping, parse_mapping
from streamapp.core.oip_requests import decode_outputs, infer_body
from streamapp.core.oip_tensors import TensorError
from streamapp.processes.scoring import Outcome

_URL = re.compile(
    r"^(?P<root>https?://[^/?#]+)/v2/models/(?P<model>[^/?#]+)(/versions/(?P<version>[^/?#]+))?/?$"
)
#: How much of a server's body an error keeps: its start and its end (a traceback's last
#: line names the error).
BODY_HEAD, BODY_TAIL = 300, 700


class OipError(RuntimeError):
    """An OIP call failed: the message has the status and body, or what went wrong."""


@dataclass(frozen=True)
class OipEndpoint:
    """``http://host:port/v2/models/<model>[/versions/<version>]`` and the URLs under it."""

    base: str
    model: str
    version: str | None = None

    @classmethod
    def parse(cls, url: str) -> OipEndpoint:
        """Check the shape of a model URL; ValueError says what is expected."""
        found = _URL.match(url.strip())
        if found is None:
            raise ValueError(
                f"{url!r} is not an OIP model URL: use http://host:port/v2/models/<model> "
                "(or .../v2/models/<model>/versions/<version>)"
            )
        return cls(url.strip().rstrip("/"), found["model"], found["version"])

    @property
    def infer_url(self) -> str:
        """``POST`` here to infer."""
        return f"{self.base}/infer"

    @property
    def ready_url(self) -> str:
        """``GET`` here: 200 when the model is ready."""
        return f"{self.base}/ready"


def version_from_metadata(endpoint: OipEndpoint, metadata: Any) -> str:
    """The model version: the one in the URL, else the last the server lists, else unversioned."""
    if endpoint.version:
        return endpoint.version
    versions = metadata.get("versions") if isinstance(metadata, Mapping) else None
    if isinstance(versions, list) and versions and all(isinstance(v, str) for v in versions):
        return str(versions[-1])
    return f"{endpoint.model}-unversioned"


def _problem(response: httpx.Response) -> str:
    body = " ".join(response.text.split())
    if len(body) > BODY_HEAD + BODY_TAIL:
        body = f"{body[:BODY_HEAD]} ... {body[-BODY_TAIL:]}"
    return f"OIP {response.status_code} from {response.request.url}: {body or '(empty body)'}"


class OipModel:
    """A rendezvous model that calls an OIP model server (thread-safe; see the module doc)."""

    role = "model"

    def __init__(
        self,
        endpoint: OipEndpoint,
        mapping: OipMapping,
        *,
        concurrency: int = 4,
        default_timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.mapping = mapping
        self.version = f"{endpoint.model}-unknown"
        self.default_timeout_s = default_timeout_s
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._http = httpx.Client(limits=limits, transport=transport, timeout=default_timeout_s)
        self._calls = threading.BoundedSemaphore(concurrency)
        self._chunks = ThreadPoolExecutor(concurrency, thread_name_prefix="oip-call")

    def close(self) -> None:
        """Close the connections and the call threads."""
        self._chunks.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def ready(self) -> bool:
        """Whether the server says the model is ready (``GET .../ready`` is 200)."""
        try:
            response = self._http.get(self.endpoint.ready_url, timeout=2.0)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        try:
            said = response.json()
        except ValueError:
            return True  # Triton answers 200 with an empty body
        return not (isinstance(said, Mapping) and said.get("ready") is False)

    def connect(self, *, ready_timeout_s: float = 60.0, poll_s: float = 0.5) -> None:
        """Wait (bounded) until the server's model is ready, then read its version."""
        deadline = time.monotonic() + ready_timeout_s
        while not self.ready():
            if time.monotonic() >= deadline:
                raise OipError(
                    f"the OIP model at {self.endpoint.base} was not ready within "
                    f"{ready_timeout_s:g}s ({self.endpoint.ready_url})"
                )
            time.sleep(poll_s)
        response = self._http.get(self.endpoint.base)
        if response.status_code != 200:
            raise OipError(_problem(response))
        self.version = version_from_metadata(self.endpoint, response.json())

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """One payload, bounded by the default time-out; raises OipError on any failure."""
        return self.predict_batch([payload])[0]

    def predict_batch(self, payloads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Several payloads without known deadlines; raises OipError if any fails."""
        soon = time.time() + self.default_timeout_s
        outcomes = self.predict_outcomes(payloads, [soon] * len(payloads))
        errors = [error for _, error in outcomes if error is not None]
        if errors:
            raise OipError(errors[0])
        return [result for result, _ in outcomes if result is not None]

    def predict_outcomes(
        self, payloads: Sequence[Mapping[str, Any]], deadlines: Sequence[float]
    ) -> list[Outcome]:
        """One (result, error) per payload: calls of at most ``max_batch`` rows, side by side."""
        size = self.mapping.max_batch
        chunks = [
            (list(payloads[i : i + size]), max(deadlines[i : i + size]))
            for i in range(0, len(payloads), size)
        ]
        if len(chunks) == 1:
            return self._chunk(*chunks[0])
        done = [self._chunks.submit(self._chunk, chunk, deadline) for chunk, deadline in chunks]
        return [outcome for future in done for outcome in future.result()]

    def _chunk(self, payloads: list[Mapping[str, Any]], deadline: float) -> list[Outcome]:
        """Encode a chunk (a payload that does not fit fails alone) and call the server."""
        outcomes: list[Outcome | None] = [None] * len(payloads)
        fitting: list[int] = []
        try:
            infer_body(self.mapping, payloads)
            fitting = list(range(len(payloads)))
        except TensorError:
            for i, payload in enumerate(payloads):
                try:
                    infer_body(self.mapping, [payload])
                    fitting.append(i)
                except TensorError as error:
                    outcomes[i] = (None, f"ModelInputError: {error}")
        if fitting:
            results = self._call([payloads[i] for i in fitting], deadline)
            for i, outcome in zip(fitting, results, strict=True):
                outcomes[i] = outcome
        return [o if o is not None else (None, "not scored") for o in outcomes]

    def _call(self, payloads: list[Mapping[str, Any]], deadline: float) -> list[Outcome]:
        """One OIP call for these payloads; a 400/422 for a batch is retried one by one."""
        left_s = deadline - time.time()
        if left_s <= 0:
            late = f"OIP call not made: the deadline passed {-left_s * 1000:.0f} ms ago"
            return [(None, late)] * len(payloads)
        try:
            with self._calls:
                response = self._http.post(
                    self.endpoint.infer_url,
                    json=infer_body(self.mapping, payloads),
                    timeout=httpx.Timeout(left_s, connect=min(left_s, 1.0)),
                )
        except httpx.TimeoutException:
            error = (
                f"OIP time-out: {self.endpoint.infer_url} did not answer within "
                f"{left_s * 1000:.0f} ms (the request's deadline)"
            )
            return [(None, error)] * len(payloads)
        except httpx.HTTPError as failure:
            return [(None, f"OIP call to {self.endpoint.infer_url} failed: {failure!r}")] * len(
                payloads
            )
        if response.status_code in (400, 422) and len(payloads) > 1:
            return [outcome for one in payloads for outcome in self._call([one], deadline)]
        if response.status_code >= 400:
            return [(None, _problem(response))] * len(payloads)
        try:
            results = decode_outputs(self.mapping, response.json(), len(payloads))
        except (ValueError, TensorError) as error:  # JSONDecodeError is a ValueError
            return [(None, f"OIP response does not fit: {error}")] * len(payloads)
        return [(result, None) for result in results]


def mapping_from_options(
    mapping: str | None, features: str | None, *, max_batch: int | None = None
) -> OipMapping:
    """The mapping of ``--oip-mapping`` (a JSON file, or inline JSON starting with ``{``) or
    ``--oip-features a,b,c`` (one FP64 tensor in that order), else the default."""
    if mapping and features:
        raise MappingError("give --oip-mapping or --oip-features, not both")
    if mapping:
        text = mapping if mapping.lstrip().startswith("{") else Path(mapping).read_text()
        try:
            raw = json.loads(text)
        except ValueError as error:
            raise MappingError(f"the OIP mapping is not JSON: {error}") from None
        parsed = parse_mapping(raw)
    elif features:
        parsed = parse_mapping({"features": [f.strip() for f in features.split(",")]})
    else:
        parsed = OipMapping()
    return replace(parsed, max_batch=max_batch) if max_batch else parsed
