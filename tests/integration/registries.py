"""Test helpers: extra registries with authentication, a token service, a wire counter.

The anonymous registry of ``scripts/services.sh`` serves most tests; auth tests start their
own ``docker-registry`` on a free loopback port with htpasswd or token auth, and stop it by its
process handle.
"""

from __future__ import annotations

import base64
import json
import random
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlparse

import bcrypt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

USER, PASSWORD = "alice", "s3cret-pa55"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def registry_process(workdir: Path, auth_yaml: str = "") -> Iterator[str]:
    """Run ``docker-registry`` on a free loopback port; yield ``127.0.0.1:PORT``."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry is not installed; run scripts/setup.sh")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "registry.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: test-only\n{auth_yaml}"
    )
    log = open(workdir / "registry.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"registry did not start: {(workdir / 'registry.log').read_text()}")
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@contextmanager
def serve_in_thread(handler: type[BaseHTTPRequestHandler], port: int) -> Iterator[None]:
    """Serve ``handler`` on 127.0.0.1:``port`` from a thread until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def htpasswd_auth(workdir: Path) -> str:
    """The auth section for a registry that accepts USER/PASSWORD (bcrypt htpasswd)."""
    workdir.mkdir(parents=True, exist_ok=True)
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
    (workdir / "htpasswd").write_text(f"{USER}:{hashed}\n")
    return f"auth:\n  htpasswd:\n    realm: test\n    path: {workdir / 'htpasswd'}\n"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenService:
    """A bearer-token service for docker-registry: Basic auth in, an ES256 JWT out.

    The registry finds the signing certificate through the token's ``x5c`` header and checks
    it against the ``rootcertbundle`` written by :meth:`auth_yaml`.
    """

    workdir: Path
    service: str = "pypack-test-registry"
    issuer: str = "pypack-test-issuer"
    requests_seen: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pypack test token issuer")])
        now = datetime.now(UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .sign(self._key, hashes.SHA256())
        )
        (self.workdir / "token.crt").write_bytes(
            self._cert.public_bytes(serialization.Encoding.PEM)
        )
        self.port = free_port()

    def auth_yaml(self) -> str:
        return (
            "auth:\n  token:\n"
            f"    realm: http://127.0.0.1:{self.port}/token\n"
            f"    service: {self.service}\n    issuer: {self.issuer}\n"
            f"    rootcertbundle: {self.workdir / 'token.crt'}\n"
        )

    def token(self, subject: str, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, rest = scope.split(":", 1)
            name, actions = rest.rsplit(":", 1)
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        der = self._cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        r, s = decode_dss_signature(
            self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    @contextmanager
    def running(self) -> Iterator[TokenService]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                header = self.headers.get("Authorization", "")
                user, _, password = (
                    base64.b64decode(header[6:]).decode().partition(":")
                    if header.startswith("Basic ")
                    else ("", "", "")
                )
                service.requests_seen.append({"user": user, "scope": query.get("scope", [])})
                if (user, password) != (USER, PASSWORD):
                    self._reply(401, {"details": "bad credentials"})
                    return
                token = service.token(user, query.get("scope", []))
                self._reply(200, {"token": token, "expires_in": 300})

            def _reply(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        with serve_in_thread(Handler, self.port):
            yield self


class CountingSession(requests.Session):
    """A requests session that records what crossed the wire: method, path, body bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, int]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        size = int(request.headers.get("Content-Length") or 0)
        self.sent.append((request.method or "", request.url or "", size))
        return super().send(request, **kwargs)

    def uploaded_bytes(self) -> int:
        """Bytes sent in blob-upload requests (PUT/PATCH to .../blobs/uploads/...)."""
        return sum(
            size
            for method, url, size in self.sent
            if "/blobs/uploads/" in url and method in ("PUT", "PATCH")
        )

    def mount_requests(self) -> list[str]:
        """The URLs of cross-repository mount requests."""
        return [url for method, url, _ in self.sent if method == "POST" and "mount=" in url]


FAULTS = ("drop", "500", "429", "truncate")
"""The faults a :class:`FaultyProxy` injects at random: close the connection unanswered, answer
500, answer 429 with ``Retry-After``, cut a GET's answer off half-way through its body."""


class Seen(NamedTuple):
    """One request the proxy saw: what was asked, the fault injected ("" for none) and when
    (``time.monotonic()``, taken as the request arrived)."""

    method: str
    path: str
    fault: str
    at: float


@dataclass
class Answer:
    """An upstream answer the proxy is about to send on, for a :data:`Lie` to change."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes


Lie = Callable[[Answer], bool]
"""Changes an answer in place; returns True if it lied."""


def corrupt_blob(digest: str) -> Lie:
    """Serve the blob ``digest`` with one byte changed (same length, same headers)."""

    def lie(answer: Answer) -> bool:
        if answer.method != "GET" or not answer.path.endswith(f"/blobs/{digest}"):
            return False
        if answer.status != 200 or not answer.body:
            return False
        middle = len(answer.body) // 2
        flipped = bytes([answer.body[middle] ^ 0xFF])
        answer.body = answer.body[:middle] + flipped + answer.body[middle + 1 :]
        return True

    return lie


def manifest_content_type(media_type: str) -> Lie:
    """Serve every manifest with ``Content-Type: media_type`` (bytes and digest unchanged)."""

    def lie(answer: Answer) -> bool:
        if answer.method != "GET" or "/manifests/" not in answer.path or answer.status != 200:
            return False
        answer.headers = {
            k: v for k, v in answer.headers.items() if k.lower() != "content-type"
        } | {"Content-Type": media_type}
        return True

    return lie


def manifest_bytes(raw: bytes) -> Lie:
    """Serve ``raw`` for every manifest asked for (the registry's digest header kept)."""

    def lie(answer: Answer) -> bool:
        if answer.method != "GET" or "/manifests/" not in answer.path or answer.status != 200:
            return False
        answer.body = raw
        return True

    return lie


def manifest_stored_as(digest: str) -> Lie:
    """Answer every manifest PUT as if the registry had stored it under ``digest``."""

    def lie(answer: Answer) -> bool:
        if answer.method != "PUT" or "/manifests/" not in answer.path or answer.status != 201:
            return False
        answer.headers["Docker-Content-Digest"] = digest
        return True

    return lie


class FaultyProxy:
    """An HTTP proxy in front of a real registry that fails chosen requests, or lies.

    * ``faults`` maps a request number (1-based, counting every request the proxy sees) to a
      fault: ``"503"``/``"500"`` (answer so), ``"429"`` (Too Many Requests with ``Retry-After:
      retry_after``), ``"drop"`` (close the connection unanswered, before the request reaches
      the registry) or ``"truncate"`` (a GET: forward it, send the headers and half the body,
      close; another method: ``"drop"``).
    * ``rate`` > 0: each request is failed with that probability, the fault drawn from
      ``kinds``, by ``random.Random(seed)``; one request (method and path) is never failed more
      than ``max_in_a_row`` times in a row, so a client that retries enough gets through.
    * ``lasting = (pattern, fault)``: every request whose ``"METHOD path"`` matches the regular
      expression gets ``fault``.
    * ``lies``: each forwarded answer is passed to them (see :func:`corrupt_blob`, ...);
      ``lies_told`` counts the answers changed.

    ``seen`` lists every request with its fault and arrival time.
    """

    def __init__(
        self,
        upstream: str,
        faults: dict[int, str] | None = None,
        *,
        rate: float = 0.0,
        seed: int = 0,
        kinds: tuple[str, ...] = FAULTS,
        max_in_a_row: int = 3,
        retry_after: str = "1",
        lasting: tuple[str, str] | None = None,
        lies: tuple[Lie, ...] = (),
    ) -> None:
        self.upstream = upstream
        self.faults = dict(faults or {})
        self.rate = rate
        self.seed = seed
        self.kinds = kinds
        self.max_in_a_row = max_in_a_row
        self.retry_after = retry_after
        self.lasting = (re.compile(lasting[0]), lasting[1]) if lasting else None
        self.lies = lies
        self.lies_told = 0
        self.seen: list[Seen] = []
        self.port = free_port()
        self._random = random.Random(seed)
        self._in_a_row: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def injected(self) -> list[Seen]:
        """The requests that were failed."""
        return [seen for seen in self.seen if seen.fault]

    def summary(self) -> str:
        """Requests seen and faults injected by kind, and the seed: for assertion messages."""
        kinds = Counter(seen.fault for seen in self.injected())
        counts = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        return (
            f"seed {self.seed}: {len(self.seen)} requests, {len(self.injected())} faults"
            f" ({counts or 'none'}), {self.lies_told} lies"
        )

    def _choose(self, method: str, path: str) -> str:
        with self._lock:
            number = len(self.seen) + 1
            fault = self.faults.get(number, "")
            if self.lasting is not None and self.lasting[0].search(f"{method} {path}"):
                fault = self.lasting[1]
            key = (method, path)
            may_fail = not fault and self._in_a_row.get(key, 0) < self.max_in_a_row
            if may_fail and self.rate and self._random.random() < self.rate:
                fault = self._random.choice(self.kinds)
            if fault == "truncate" and method != "GET":
                fault = "drop"
            self._in_a_row[key] = self._in_a_row.get(key, 0) + 1 if fault else 0
            self.seen.append(Seen(method, path, fault, time.monotonic()))
            return fault

    def _lie(self, answer: Answer) -> None:
        for lie in self.lies:
            if lie(answer):
                with self._lock:
                    self.lies_told += 1

    @contextmanager
    def running(self) -> Iterator[FaultyProxy]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._choose(self.command, self.path)
                if fault == "drop":
                    self._drop()
                    return
                if fault in ("500", "503", "429"):
                    self.send_response(int(fault))
                    if fault == "429":
                        self.send_header("Retry-After", proxy.retry_after)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer = self._forward(body)
                proxy._lie(answer)
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    if key.lower() != "content-length" or self.command == "HEAD":
                        self.send_header(key, value)
                if self.command != "HEAD":  # the length of what is sent, lie or not
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if fault == "truncate":
                    self.wfile.write(answer.body[: len(answer.body) // 2])
                    self.wfile.flush()
                    self._drop()
                    return
                if self.command != "HEAD":
                    self.wfile.write(answer.body)

            def _drop(self) -> None:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            def _forward(self, body: bytes) -> Answer:
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length")
                }
                headers["Host"] = proxy.address
                upstream = requests.request(
                    self.command,
                    f"http://{proxy.upstream}{self.path}",
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                    timeout=60,
                )
                payload = b"" if self.command == "HEAD" else upstream.content
                passed = {
                    key: value
                    for key, value in upstream.headers.items()
                    if key.lower()
                    not in ("content-length", "transfer-encoding", "connection", "content-encoding")
                }
                if self.command == "HEAD":
                    passed["Content-Length"] = upstream.headers.get("Content-Length", "0")
                return Answer(self.command, self.path, upstream.status_code, passed, payload)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815

        with serve_in_thread(Handler, self.port):
            yield self
