"""``mlops serve``'s HTTPS proxy: a CONNECT to AWS's address is answered under a certificate the
home's authority signed and forwarded to the twin with its Host header; any other host is
tunnelled unread; the authority can vouch for nothing outside amazonaws.com."""

from __future__ import annotations

import http.client
import http.server
import ssl
import threading
from pathlib import Path
from typing import Iterator

import pytest

from pipelines.local.home import Home
from pipelines.serving.proxy import Authority, Proxy, intercepted


class Recorder(http.server.BaseHTTPRequestHandler):
    """A stand-in twin: answers every GET with the Host header it was sent."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = f"host={self.headers['Host']} path={self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def twin() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.resolve(tmp_path / "home")


@pytest.fixture
def proxy(home: Home, twin: int) -> Iterator[Proxy]:
    running = Proxy(Authority.load_or_create(home), ("127.0.0.1", twin))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def through(proxy: Proxy, host: str, port: int, context: ssl.SSLContext | None) -> tuple[int, str]:
    """GET / on ``host:port`` through the proxy, as a client with HTTPS_PROXY set does."""
    if context is None:
        connection: http.client.HTTPConnection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    else:
        connection = http.client.HTTPSConnection("127.0.0.1", proxy.port, context=context, timeout=30)
    connection.set_tunnel(host, port)
    try:
        connection.request("GET", "/?Action=GetCallerIdentity")
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def test_aws_hosts_reach_the_twin_with_their_host_header_under_the_homes_authority(home: Home, proxy: Proxy) -> None:
    trusting = ssl.create_default_context(cafile=str(home.proxy_ca))  # what AWS_CA_BUNDLE gives botocore
    assert through(proxy, "sts.us-east-1.amazonaws.com", 443, trusting) == (200, "host=sts.us-east-1.amazonaws.com path=/?Action=GetCallerIdentity")
    assert through(proxy, "api.sagemaker.eu-west-1.amazonaws.com", 443, trusting)[0] == 200
    # A client that trusts only the public authorities refuses the answer: nothing is impersonated silently.
    with pytest.raises(ssl.SSLCertVerificationError):
        through(proxy, "sts.us-east-1.amazonaws.com", 443, ssl.create_default_context())


def test_other_hosts_are_tunnelled_unread(proxy: Proxy, twin: int) -> None:
    assert through(proxy, "127.0.0.1", twin, None) == (200, f"host=127.0.0.1:{twin} path=/?Action=GetCallerIdentity")
    assert not intercepted("amazonaws.com.example.org", 443) and not intercepted("s3.amazonaws.com", 80)
    assert intercepted("S3.AmazonAWS.com.", 443) and intercepted("my-bucket.s3.us-east-1.amazonaws.com", 443)


def test_a_request_that_is_not_a_tunnel_is_refused_in_words(proxy: Proxy) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    connection.request("GET", "http://example.com/")
    answer = connection.getresponse()
    assert answer.status == 405 and "tunnels HTTPS only: CONNECT host:port, not GET http://example.com/" in answer.read().decode()


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, hostname: str) -> None:
    """A TLS handshake in memory; raises what the client's verification raises."""
    client_in, client_out, server_in, server_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client_side = client.wrap_bio(client_in, client_out, server_hostname=hostname)
    server_side = server.wrap_bio(server_in, server_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, side, outgoing, incoming in (("client", client_side, client_out, server_in), ("server", server_side, server_out, client_in)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
            incoming.write(outgoing.read())
        if all(done.values()):
            return
    raise AssertionError("the handshake did not finish")


def test_the_authority_is_made_once_and_vouches_for_nothing_outside_amazonaws(home: Home) -> None:
    authority = Authority.load_or_create(home)
    assert Authority.load_or_create(home).certificate == authority.certificate  # kept: clients already trust it
    assert home.proxy_ca_key.stat().st_mode & 0o777 == 0o600
    trusting = ssl.create_default_context(cafile=str(home.proxy_ca))
    handshake(authority.context("runtime.sagemaker.us-east-1.amazonaws.com"), trusting, "runtime.sagemaker.us-east-1.amazonaws.com")
    with pytest.raises(ssl.SSLCertVerificationError):  # the authority's name constraint: a certificate it signs for another host is void
        handshake(authority._context("pypi.org"), trusting, "pypi.org")


def test_a_key_that_is_not_the_certificates_is_refused_in_words(home: Home, tmp_path: Path) -> None:
    Authority.load_or_create(home)
    other = Home.resolve(tmp_path / "other")
    Authority.load_or_create(other)
    home.proxy_ca_key.write_bytes(other.proxy_ca_key.read_bytes())
    with pytest.raises(ValueError, match="proxy-ca.key is not the key of .*proxy-ca.pem; remove both"):
        Authority.load_or_create(home)
