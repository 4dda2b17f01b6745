"""S3 and STS for the jobs the local engine runs: what a job's boto3, AWS CLI or s3fs reach.

On SageMaker a job reaches S3 with its role's credentials. Locally, the process that runs an
execution (``mlops run``, the API's runner) serves the twin's S3 and STS on a free loopback
port, from the first job that needs it to its own end, and each job is given
``AWS_ENDPOINT_URL``, the region and the serving key in its environment, and nothing else of the
host's AWS settings: ``boto3.client("s3").download_file(...)`` in a job reads the store, and what
it uploads the next step reads. Requests must be signed with that key. A job with
``EnableNetworkIsolation`` is given none of it (and no network: ``handlers/processing.py``).

A thread of this process answers (``http.server``); the answers are ``services.py``'s, the same
as ``mlops serve`` gives.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipelines.api import services
from pipelines.local.home import Home

_lock = threading.Lock()
_servers: dict[str, "JobEndpoint"] = {}


class JobEndpoint:
    """One home's S3 and STS on 127.0.0.1, in a thread of this process."""

    def __init__(self, home: Home) -> None:
        from pipelines.serving.auth import Verifier, load_or_create

        self.home = home
        self.credentials = load_or_create(home)
        verifier = Verifier(self.credentials, region=home.region)
        endpoint = self

        class Handler(_Handler):
            owner, check = endpoint, verifier

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="job-endpoint", daemon=True).start()

    def environment(self) -> dict[str, str]:
        """What a job's environment gets."""
        return {
            "AWS_ENDPOINT_URL": self.url, "AWS_REGION": self.home.region, "AWS_DEFAULT_REGION": self.home.region,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id, "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
        }  # fmt: skip

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def for_home(home: Home) -> JobEndpoint:
    """The running endpoint for ``home`` in this process; started the first time."""
    with _lock:
        key = str(home.root)
        if key not in _servers:
            _servers[key] = JobEndpoint(home)
        return _servers[key]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: JobEndpoint
    check: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # the job's own log says what it did

    def _answer(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw_path, _, query = self.path.partition("?")
        service = services.which(self.command, raw_path, headers)
        body = self._body(headers, services.LIMITS.get(service, 0))
        if body is None:
            status, answer_headers, payload = services.too_large(service, None)
        elif service not in (services.S3, services.STS):
            status, answer_headers, payload = services.refusal(service, "MissingAuthenticationTokenException", f"a job reaches S3 and STS here; {service} is not served to jobs")
        else:
            refusal = self.check.check(self.command, raw_path, query, headers, body, services.SIGNING_NAMES[service])
            if refusal is not None:
                status, answer_headers, payload = services.refusal(service, *refusal)
            else:
                status, answer_headers, payload = services.answer(self.owner.home, service, self.command, raw_path, query, headers, body)
        self.send_response(status)
        for key, value in answer_headers.items():
            self.send_header(key, value)
        if "content-length" not in answer_headers:
            self.send_header("content-length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _body(self, headers: dict[str, str], limit: int) -> bytes | None:
        if headers.get("expect", "").lower() == "100-continue":
            self.send_response_only(100)
            self.end_headers()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks, size = [], 0
            while True:
                length = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if length == 0:
                    self.rfile.readline()
                    break
                size += length
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
            return b"".join(chunks) if size <= limit else None
        length = int(headers.get("content-length") or 0)
        if length > limit:
            self.rfile.read(length)
            return None
        return self.rfile.read(length) if length else b""

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer
