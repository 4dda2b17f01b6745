"""``mlops serve``'s HTTPS proxy: AWS's own addresses, answered by the twin.

``AWS_ENDPOINT_URL`` sends a client to the twin unless the code names an endpoint itself, and
the SageMaker SDKs do, for STS: ``Session.account_id()``, ``default_bucket()`` and
``get_execution_role()`` call ``https://sts.<region>.amazonaws.com`` explicitly
(``sts_regional_endpoint``), which no setting redirects. Every HTTP client honours
``HTTPS_PROXY``, though, so ``mlops env`` points it here: a ``CONNECT`` to a host under
``amazonaws.com`` is answered with TLS under a certificate for that host, signed by the home's
own authority (``$MLOPS_HOME/serving/proxy-ca.pem``, which ``mlops env`` exports as
``AWS_CA_BUNDLE``), and the requests inside go to the twin's own address unchanged (their Host
header and signature as the client made them). Any other host is tunnelled as a proxy
does, unread, so ``pip`` and ``git`` in that shell work as before.

The authority is made once per home: an EC P-256 key (owner-only) and a certificate that can
sign nothing but server certificates for hosts under ``amazonaws.com``; each host's certificate
is made when first asked for and kept in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ssl
import tempfile
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pipelines.core.fileio import create_once
from pipelines.local.home import Home

INTERCEPTED = "amazonaws.com"
HEAD_LIMIT = 64 * 1024
_CHUNK = 256 * 1024


def intercepted(host: str, port: int) -> bool:
    """Whether a CONNECT to ``host:port`` is AWS's, to be answered by the twin."""
    host = host.lower().rstrip(".")
    return port == 443 and (host == INTERCEPTED or host.endswith("." + INTERCEPTED))


class Authority:
    """The home's certificate authority for the proxy, and the host certificates it signs."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> None:
        self.key = key
        self.certificate = certificate
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    @classmethod
    def load_or_create(cls, home: Home) -> "Authority":
        """The home's authority; made the first time (the first of several servers to write it wins)."""
        if not home.proxy_ca.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"mlops local twin proxy ({home.root})"[:64])])
            now = dt.datetime.now(dt.timezone.utc)
            certificate = (
                x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                .add_extension(x509.NameConstraints(permitted_subtrees=[x509.DNSName(INTERCEPTED)], excluded_subtrees=None), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256())
            )  # fmt: skip
            key_bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            create_once(home.proxy_ca_key, key_bytes, 0o600)  # the key first: a certificate on disk always has its key
            create_once(home.proxy_ca, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
        key = serialization.load_pem_private_key(home.proxy_ca_key.read_bytes(), password=None)
        certificate = x509.load_pem_x509_certificate(home.proxy_ca.read_bytes())
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key().public_numbers() != certificate.public_key().public_numbers():
            raise ValueError(f"{home.proxy_ca_key} is not the key of {home.proxy_ca}; remove both and start mlops serve again")
        return cls(key, certificate)

    def context(self, host: str) -> ssl.SSLContext:
        """A server TLS context with a certificate for ``host``, made on first use."""
        host = host.lower().rstrip(".")
        with self._lock:
            if host not in self._contexts:
                self._contexts[host] = self._context(host)
            return self._contexts[host]

    def _context(self, host: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        certificate = (
            x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])]))
            .issuer_name(self.certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=397))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )  # fmt: skip
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as private:  # load_cert_chain reads files; mkdtemp's are the owner's only
            chain = Path(private) / "chain.pem"
            chain.write_bytes(
                certificate.public_bytes(serialization.Encoding.PEM)
                + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            )
            context.load_cert_chain(chain)
        return context


class Proxy:
    """The proxy on 127.0.0.1, in a thread of the serving process, forwarding AWS's hosts to the
    twin at ``twin`` (host, port)."""

    def __init__(self, authority: Authority, twin: tuple[str, int]) -> None:
        self.authority = authority
        self.twin = twin
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aws-proxy", daemon=True)

    def start(self) -> int:
        """Listen on a free port of 127.0.0.1; its number once it listens."""
        self._thread.start()
        self._ready.wait()
        return self.port

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0, limit=HEAD_LIMIT))
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:  # stopped: end the tunnels still open, let their transports close, then the loop
            server.close()
            tunnels = asyncio.all_tasks(self._loop)
            for tunnel in tunnels:
                tunnel.cancel()
            self._loop.run_until_complete(asyncio.gather(*tunnels, return_exceptions=True))
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
            target = rest.partition(" ")[0]
            host, _, port_text = target.rpartition(":")
            if method != "CONNECT" or not port_text.isdigit() or not host:
                await _refuse(writer, 405, f"this proxy (mlops serve) tunnels HTTPS only: CONNECT host:port, not {method} {target}")
                return
            host, port = host.strip("[]"), int(port_text)
            if intercepted(host, port):
                upstream_reader, upstream = await asyncio.open_connection(*self.twin)
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await writer.start_tls(self.authority.context(host))
            else:
                try:
                    upstream_reader, upstream = await asyncio.open_connection(host, port)
                except OSError as exc:
                    await _refuse(writer, 502, f"could not reach {host}:{port}: {exc.strerror or exc}")
                    return
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            # HTTP's requests and answers, both ways; when either side closes, the other is closed
            # too (a TLS stream cannot be half-closed, and the twin's idle connections end).
            pipes = [asyncio.ensure_future(_pipe(reader, upstream)), asyncio.ensure_future(_pipe(upstream_reader, writer))]
            _, pending = await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            for pipe in pending:
                pipe.cancel()
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass  # a client that went away, or did not trust the authority: its own error says so
        finally:
            for stream in (upstream, writer):
                if stream is not None:
                    stream.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ssl.SSLError, asyncio.IncompleteReadError):
        while data := await source.read(_CHUNK):
            sink.write(data)
            await sink.drain()


async def _refuse(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    reason = {405: "Method Not Allowed", 502: "Bad Gateway"}[status]
    body = message.encode() + b"\n"
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    await writer.drain()
