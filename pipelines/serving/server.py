"""The endpoint server: SageMaker's runtime API and the container protocol, for every endpoint
deployed under ``MLOPS_HOME``; and, on the same address, the local AWS endpoint (the SageMaker
API, S3 and STS: ``pipelines/api``, which ``api/services.py`` tells apart).

- ``POST /endpoints/{EndpointName}/invocations`` (what boto3's ``sagemaker-runtime``
  ``invoke_endpoint`` sends, with ``endpoint_url=``): Content-Type, Accept,
  ``X-Amzn-SageMaker-Custom-Attributes`` and ``X-Amzn-SageMaker-Inference-Id`` headers.
- ``GET /ping`` and ``POST /invocations`` (the container protocol; with one endpoint served).
- Errors in the runtime's shape (``x-amzn-ErrorType`` and a JSON body with ``message``):
  unknown endpoint 404 ValidationError; body over 6 MB 413; unsupported content type 415 and a
  malformed payload 400, both ModelError with ``OriginalStatusCode`` and a message naming the
  row and column. Nothing a client sends stops the server.
- With ``MLOPS_SERVE_AUTH=sigv4``, every request but ``GET /ping`` must carry an AWS
  Signature Version 4 (``auth.py``) scoped to its service; refusals are in that service's shape.

Requests for the same endpoint that arrive together are scored together, in one
prediction call per turn of the event loop (``model.DensePrediction``). Capture is written off the request path
(``capture.py``). Deployments are followed: the endpoint store is polled, a new config's model
is loaded beside the old one and swapped in; requests in flight finish on the old one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import numpy as np

from pipelines.api import services
from pipelines.core import shapes
from pipelines.core.fileio import write_text_atomic
from pipelines.local.home import Home
from pipelines.local.store import ObjectStore
from pipelines.serving.auth import Verifier, load_or_create
from pipelines.serving.capture import CaptureSettings, CaptureWriter
from pipelines.serving.clock import clock_from
from pipelines.serving.endpoints import EndpointStore
from pipelines.serving.model import ModelLoadError, PayloadError, Predictor

logger = logging.getLogger("pipelines.serving")
MAX_BODY = 6 * 1024 * 1024
POLL_SECONDS = 0.5
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Batcher:
    """Scores the rows of every request that arrived in one turn of the event loop together."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self._pending: list[tuple[np.ndarray, asyncio.Future[np.ndarray]]] = []
        self._scheduled = False

    def submit(self, rows: np.ndarray) -> asyncio.Future[np.ndarray]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self._pending.append((rows, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        pending, self._pending, self._scheduled = self._pending, [], False
        try:
            if len(pending) == 1:
                rows, future = pending[0]
                future.set_result(self.predictor.predict(rows))
                return
            scores = self.predictor.predict(np.concatenate([rows for rows, _ in pending]))
        except Exception as exc:  # noqa: BLE001 - a failing model fails its requests, not the server
            for _, future in pending:
                if not future.done():
                    future.set_exception(exc)
            return
        start = 0
        for rows, future in pending:
            future.set_result(scores[start : start + len(rows)])
            start += len(rows)


@dataclass
class Served:
    name: str
    config: str
    variant: str
    predictor: Predictor
    batcher: Batcher
    capture: CaptureWriter | None


@dataclass
class Server:
    home: Home
    endpoints: dict[str, Served] = field(default_factory=dict)
    unloadable: dict[str, str] = field(default_factory=dict)  # deployed, but its model does not load: why
    generation: int = -1
    clock: Callable[[], float] = time.time

    # -- following deployments --------------------------------------------------------------
    def refresh(self) -> None:
        """Load what the endpoint store says is deployed; keep serving the old model on failure."""
        if not self.home.serving_db.exists():
            return
        store = EndpointStore(self.home)
        try:
            generation = store.generation()
            if generation == self.generation:
                return
            wanted = {}
            for item in store.list_endpoints():
                live = store.endpoint_config_of(item["EndpointName"])
                if live is not None:
                    wanted[item["EndpointName"]] = live
        finally:
            store.close()
        objects = ObjectStore(self.home.store)
        for name, (config, models) in wanted.items():
            current = self.endpoints.get(name)
            if current is not None and current.config == config["EndpointConfigName"]:
                continue
            url = models[0]["PrimaryContainer"]["ModelDataUrl"]
            try:
                predictor = Predictor.load(objects.path(url), source=url)
            except ModelLoadError as exc:
                logger.error("endpoint %s: keeping %s: %s", name, current.config if current else "nothing", exc)
                if current is None:  # nothing to keep serving: say why, as the container would
                    self.unloadable[name] = f"Model at {url} cannot be loaded: {exc}"
                continue
            self.unloadable.pop(name, None)
            self.endpoints[name] = Served(
                name=name,
                config=config["EndpointConfigName"],
                variant=config["ProductionVariants"][0].get("VariantName", "AllTraffic"),
                predictor=predictor,
                batcher=Batcher(predictor),
                capture=self._capture(name, config),
            )
            if current is not None and current.capture is not None:
                current.capture.close()
            logger.info("endpoint %s: serving %s (%s)", name, config["EndpointConfigName"], url)
        for name in set(self.endpoints) - set(wanted):
            gone = self.endpoints.pop(name)
            if gone.capture is not None:
                gone.capture.close()
        for name in set(self.unloadable) - set(wanted):
            del self.unloadable[name]
        self.generation = generation
        self._write_status()

    def _write_status(self) -> None:
        """``serving/workers/{pid}.json``: the deployment generation this process has seen and what it serves."""
        status = {"pid": os.getpid(), "generation": self.generation, "endpoints": {name: served.config for name, served in self.endpoints.items()}, "unloadable": self.unloadable}
        write_text_atomic(self.home.workers / f"{os.getpid()}.json", json.dumps(status))

    def _capture(self, name: str, config: dict[str, Any]) -> CaptureWriter | None:
        settings = CaptureSettings.from_config(config.get("DataCaptureConfig"))
        if not settings.enabled:
            return None
        destination = config["DataCaptureConfig"]["DestinationS3Uri"]
        root = ObjectStore(self.home.store).path(destination)
        self.home.capture_stats.mkdir(parents=True, exist_ok=True, mode=0o700)
        stats = self.home.capture_stats / f"{name}.{config['EndpointConfigName']}.{os.getpid()}.json"
        return CaptureWriter(root, name, config["ProductionVariants"][0].get("VariantName", "AllTraffic"), settings, stats, clock=self.clock)

    def close(self) -> None:
        for served in self.endpoints.values():
            if served.capture is not None:
                served.capture.close()
        (self.home.workers / f"{os.getpid()}.json").unlink(missing_ok=True)

    # -- requests ---------------------------------------------------------------------------
    async def invoke(self, name: str, body: bytes, headers: dict[str, str], container: bool = False) -> tuple[int, dict[str, str], bytes]:
        """One request: through the runtime (errors in its shapes, a container's refusal as a 424
        ModelError), or, with ``container``, as the container itself answers ``POST /invocations``
        (its own status and message, as text)."""
        served = self.endpoints.get(name)
        if served is None:
            if name in self.unloadable:  # deployed, InService, and its model does not load
                if container:
                    return 500, {"content-type": "text/plain; charset=utf-8"}, self.unloadable[name].encode()
                return model_error(500, self.unloadable[name], name, self.home)
            return error(400, "ValidationError", f"Endpoint {name} of account {self.home.account} not found.")
        refused = request_problem(served, headers)
        if refused:
            return error(400, "ValidationError", refused)
        content_type = headers.get("content-type", "")
        try:
            rows = served.predictor.parse(body, content_type)
            scores = await served.batcher.submit(rows)
            payload, answer_type = served.predictor.render(scores, headers.get("accept", ""))
        except PayloadError as exc:
            if container:
                return exc.status, {"content-type": "text/plain; charset=utf-8"}, str(exc).encode()
            return model_error(exc.status, str(exc), name, self.home)
        if served.capture is not None and served.capture.settings.sampled():
            served.capture.record(body, content_type, payload, answer_type, headers.get("x-amzn-sagemaker-inference-id"))
        response_headers = {"content-type": answer_type, "x-amzn-invoked-production-variant": served.variant}
        custom = headers.get("x-amzn-sagemaker-custom-attributes")
        if custom:
            response_headers["x-amzn-sagemaker-custom-attributes"] = custom
        return 200, response_headers, payload


def request_problem(served: Served, headers: dict[str, str]) -> str | None:
    """What the runtime refuses before the container sees the request (botocore's InvokeEndpoint
    input shape: InferenceId 1-64 printable characters; a TargetVariant the endpoint has)."""
    inference_id = headers.get("x-amzn-sagemaker-inference-id")
    problem = shapes.inference_id_problem(inference_id) if inference_id is not None else None
    if problem:
        return f"1 validation error detected: Value '{inference_id[:80]}' at 'inferenceId' failed to satisfy constraint: {problem}"
    variant = headers.get("x-amzn-sagemaker-target-variant")
    if variant is not None and variant != served.variant:
        return f"The variant {variant} was not found for endpoint {served.name}; it has {served.variant}."
    return None


def error(status: int, kind: str, message: str, extra: dict[str, Any] | None = None) -> tuple[int, dict[str, str], bytes]:
    """An error as the runtime sends it: the type in x-amzn-ErrorType, the members of its shape in the body."""
    body = {"Message": message, **(extra or {})}
    return status, {"content-type": "application/json", "x-amzn-errortype": kind}, json.dumps(body).encode()


def signature_error(kind: str, message: str) -> tuple[int, dict[str, str], bytes]:
    """AWS's 403 for a request whose signature is missing or wrong (its own body: __type, message)."""
    return 403, {"content-type": "application/json", "x-amzn-errortype": kind}, json.dumps({"__type": kind, "message": message}).encode()


def model_error(original_status: int, message: str, endpoint: str, home: Home) -> tuple[int, dict[str, str], bytes]:
    """The runtime's ModelError (HTTP 424) around what the container answered: its status and message."""
    side = "client" if original_status < 500 else "server"
    text = f"Received {side} error ({original_status}) from primary with message \"{message}\". See the endpoint's log in account {home.account} for more information."
    return error(424, "ModelError", text, {"OriginalStatusCode": original_status, "OriginalMessage": message, "LogStreamArn": f"arn:aws:logs:{home.region}:{home.account}:log-group:/aws/sagemaker/Endpoints/{endpoint}"})


class App:
    """The ASGI application (one per worker process)."""

    def __init__(self, home: Home, clock: Callable[[], float] = time.time, verifier: Verifier | None = None, master: int | None = None) -> None:
        self.server = Server(home, clock=clock)
        self.verifier = verifier
        self.master = master  # a worker's master process: when it is gone, so is this worker
        self._poller: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            try:
                await self._http(scope, receive, send)
            except Exception:  # noqa: BLE001 - a bug answers in the runtime's shape, never as plain text
                logger.exception("%s %s failed", scope.get("method"), scope.get("path"))
                await respond(send, *error(500, "InternalFailure", "An internal error occurred while processing the request; the server's log has the details."))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await asyncio.get_running_loop().run_in_executor(None, self.server.refresh)
                self._poller = asyncio.create_task(self._follow())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._poller is not None:
                    self._poller.cancel()
                self.server.close()  # every buffered capture record reaches the disk
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _follow(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if self.master is not None and os.getppid() != self.master:
                # The master died without stopping its workers (kill -9): stop as on SIGTERM,
                # writing every buffered capture record, instead of serving on alone.
                logger.warning("the server's master process %d is gone; this worker stops", self.master)
                os.kill(os.getpid(), signal.SIGTERM)
                return
            try:
                await loop.run_in_executor(None, self.server.refresh)
            except Exception:  # noqa: BLE001 - a bad deployment must not stop the server
                logger.exception("following deployments failed; still serving what was loaded")

    async def _http(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if path == "/ping" and method == "GET":
            await respond(send, 200 if self.server.endpoints else 503, {"content-type": "text/plain"}, b"" if self.server.endpoints else b"no endpoint deployed")
            return
        service = services.which(method, path, headers)
        query = scope.get("query_string", b"").decode("latin-1")
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > services.LIMITS[service]:
            await respond(send, *services.too_large(service, int(declared)))
            return
        body = await read_body(receive, services.LIMITS[service])
        if body is None:
            await respond(send, *services.too_large(service, None))
            return
        raw_path = (scope.get("raw_path") or path.encode()).decode("latin-1")
        if service == services.OTHER:
            await respond(send, *services.not_served(headers))
            return
        if self.verifier is not None:
            # Every request but the health check is signed; the body is part of the signature.
            refusal = self.verifier.check(method, raw_path, query, headers, body, services.SIGNING_NAMES[service])
            if refusal is not None:
                await respond(send, *services.refusal(service, *refusal))
                return
        if service == services.SAGEMAKER:
            from pipelines.api import sagemaker

            target = headers.get("x-amz-target", "")
            await respond(send, *await asyncio.get_running_loop().run_in_executor(None, sagemaker.answer, self.server.home, target, body, services.strict()))
            return
        if service != services.RUNTIME:
            answer = await asyncio.get_running_loop().run_in_executor(None, services.answer, self.server.home, service, method, raw_path, query, headers, body)
            await respond(send, *answer)
            return
        name = None
        if path.startswith("/endpoints/") and path.endswith("/invocations"):
            name = path[len("/endpoints/") : -len("/invocations")]
        elif path == "/invocations":
            if len(self.server.endpoints) != 1:
                await respond(send, *error(400, "ValidationError", f"/invocations needs exactly one endpoint served; {len(self.server.endpoints)} are. Use /endpoints/NAME/invocations"))
                return
            name = next(iter(self.server.endpoints))
        if name is None:
            await respond(send, *error(404, "UnknownOperationException", f"{method} {path} is not an operation of this server"))
            return
        if method != "POST":
            await respond(send, *error(405, "ValidationError", f"{path} takes POST"))
            return
        status, response_headers, payload = await self.server.invoke(name, body, headers, container=path == "/invocations")
        response_headers["x-amzn-requestid"] = str(uuid.uuid4())
        await respond(send, status, response_headers, payload)


async def read_body(receive: Receive, limit: int = MAX_BODY) -> bytes | None:
    """The request body, or None past ``limit`` (the rest is drained, not kept)."""
    chunks, size, too_big = [], 0, False
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            too_big = True
        elif chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return None if too_big else b"".join(chunks)


async def respond(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    """The answer; its Content-Length is the body's, unless the headers give one (S3's HEAD: the object's)."""
    length = [] if "content-length" in headers else [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [(k.encode(), v.encode()) for k, v in headers.items()] + length})
    await send({"type": "http.response.body", "body": body})


def create_app() -> App:
    """The uvicorn factory: ``MLOPS_HOME`` says which deployments to serve."""
    import sys

    sys.setswitchinterval(0.0005)  # the capture thread yields the GIL to requests sooner
    import multiprocessing

    home = Home.resolve()
    verifier = Verifier(load_or_create(home), region=home.region) if os.environ.get(AUTH_VARIABLE) == "sigv4" else None
    master = os.getppid() if multiprocessing.parent_process() is not None else None  # set in uvicorn's workers
    return App(home, clock=clock_from(os.environ.get(CLOCK_VARIABLE)), verifier=verifier, master=master)


CLOCK_VARIABLE = "MLOPS_SERVE_CLOCK"  # the path of the capture clock file (clock.py), if any
AUTH_VARIABLE = "MLOPS_SERVE_AUTH"
