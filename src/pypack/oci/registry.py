"""A client for the OCI distribution API, on requests.

It answers ``Basic`` and ``Bearer`` challenges with credentials from a :class:`Keychain`,
caches tokens per scope, retries with backoff on 5xx and 429 answers (waiting as long as a
``Retry-After`` header asks, up to a cap) and on dropped connections (a blob cut off mid-way is
resumed with a ``Range`` request), checks the digest and media type of every manifest and the
digest of every blob it reads, and uploads blobs monolithically from files or in chunks from a
stream (so a layer can be compressed while it is sent). Plain http is used only for loopback
registries or when asked. No credential appears in an error message.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlencode, urljoin

from pypack.errors import ServiceError
from pypack.oci import mediatypes
from pypack.oci.auth import Credentials, Keychain
from pypack.oci.digest import CHUNK, DigestMismatch, sha256_of, verified_chunks, verify
from pypack.oci.models import RawDocument, media_type_of
from pypack.oci.reference import is_loopback

if TYPE_CHECKING:
    import requests

_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_GENERIC_TYPES = frozenset({"", "application/json", "application/octet-stream"})
MAX_WAIT = 60.0
"""The longest one wait before a retry may be, whatever ``Retry-After`` asks (seconds)."""
_TIMEOUT = (10, 300)
USER_AGENT = "pypack"


def _requests() -> ModuleType:
    """requests, imported when a registry is first contacted (it costs a command that has no
    registry to talk to some 50 ms)."""
    import requests

    return requests


def import_http_stack() -> None:
    """Import what registry access imports on first use, now: for a process about to become a
    user that may not be able to read this interpreter's library (a Python under /root)."""
    _requests()


class RegistryError(ServiceError):
    """A registry answered with an error, or could not be reached."""


class RegistryAuthError(RegistryError):
    """The registry refused the credentials (or needs some and none are configured)."""


class BlobUnknown(RegistryError):
    """The registry does not have the blob."""


class ManifestUnknown(RegistryError):
    """The registry does not have the manifest (image or tag)."""


class ManifestMismatch(RegistryError):
    """The registry served a manifest whose media type is wrong."""


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header."""

    scheme: str
    params: dict[str, str]

    @classmethod
    def parse(cls, header: str) -> Challenge:
        """Parse ``Bearer realm="...",service="..."`` (or ``Basic realm="..."``)."""
        scheme, _, rest = header.strip().partition(" ")
        return cls(scheme.lower(), dict(_CHALLENGE.findall(rest)))


def pull_scope(repository: str) -> str:
    """The token scope to read ``repository``."""
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    """The token scope to read and write ``repository``."""
    return f"repository:{repository}:pull,push"


class RegistryClient:
    """Talk to one registry (``host[:port]``)."""

    def __init__(
        self,
        registry: str,
        *,
        keychain: Keychain | None = None,
        insecure: bool = False,
        session: requests.Session | None = None,
        retries: int = 4,
        backoff: float = 0.2,
        max_wait: float = MAX_WAIT,
    ) -> None:
        self.registry = registry
        self._keychain = keychain or Keychain()
        plain_http = insecure or is_loopback(registry)
        host = "registry-1.docker.io" if registry == "docker.io" else registry
        self.base_url = f"{'http' if plain_http else 'https'}://{host}"
        self._session = session or _requests().Session()
        self._session.headers["User-Agent"] = USER_AGENT
        self._retries = retries
        self._backoff = backoff
        self._max_wait = max_wait
        self._tokens: dict[tuple[str, ...], str] = {}
        self._challenge: Challenge | None = None

    # --- plumbing ----------------------------------------------------------------------------

    @property
    def _credentials(self) -> Credentials:
        return self._keychain.resolve(self.registry)

    def _authorization(self, scopes: tuple[str, ...]) -> str | None:
        challenge = self._challenge
        if challenge is None:
            return None
        creds = self._credentials
        if challenge.scheme == "basic":
            return creds.header or creds.basic()
        if challenge.scheme == "bearer":
            if creds.header and creds.header.lower().startswith("bearer "):
                return creds.header
            token = self._tokens.get(scopes) or self._fetch_token(challenge, scopes, creds)
            return f"Bearer {token}"
        return creds.header

    def _fetch_token(
        self, challenge: Challenge, scopes: tuple[str, ...], creds: Credentials
    ) -> str:
        realm = challenge.params.get("realm")
        if not realm:
            raise RegistryError(f"registry {self.registry}: Bearer challenge without a realm")
        query: list[tuple[str, str]] = []
        if "service" in challenge.params:
            query.append(("service", challenge.params["service"]))
        query.extend(("scope", scope) for scope in scopes)
        headers = {}
        basic = creds.basic() if creds.username else None
        if creds.header and creds.header.lower().startswith("basic "):
            basic = creds.header
        try:
            if creds.identity_token:
                form = {
                    "grant_type": "refresh_token",
                    "refresh_token": creds.identity_token,
                    "service": challenge.params.get("service", ""),
                    "scope": " ".join(scopes),
                    "client_id": USER_AGENT,
                }
                answer = self._session.post(realm, data=form, timeout=_TIMEOUT)
            else:
                if basic:
                    headers["Authorization"] = basic
                answer = self._session.get(
                    f"{realm}?{urlencode(query)}", headers=headers, timeout=_TIMEOUT
                )
        except _requests().RequestException as exc:
            raise RegistryError(
                f"registry {self.registry}: token service {realm} unreachable: {type(exc).__name__}"
            ) from None
        if answer.status_code in (401, 403):
            raise RegistryAuthError(
                f"registry {self.registry}: the token service refused {creds.describe()}; "
                "check the credentials in the Docker config or CNB_REGISTRY_AUTH"
            )
        if answer.status_code != 200:
            raise RegistryError(
                f"registry {self.registry}: token service answered {answer.status_code}"
            )
        try:
            body = answer.json()
        except ValueError:
            raise RegistryError(
                f"registry {self.registry}: token service did not answer JSON"
            ) from None
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"registry {self.registry}: token service answered no token")
        self._tokens[scopes] = token
        return token

    def _request(
        self,
        method: str,
        url: str,
        *,
        scopes: tuple[str, ...],
        what: str,
        expect: Iterable[int],
        headers: dict[str, str] | None = None,
        body: Callable[[], bytes | BinaryIO | KnownLength | Iterator[bytes] | None] | None = None,
        stream: bool = False,
        missing: type[RegistryError] | None = None,
    ) -> requests.Response:
        """Send a request, answering one auth challenge and retrying transient failures.

        ``body`` is called for each attempt, so a file body is reopened and a retry never sends
        half a stream.
        """
        expected = set(expect)
        full_url = url if url.startswith("http") else urljoin(self.base_url, url)
        attempt = 0
        authenticated = False
        while True:
            send_headers = dict(headers or {})
            authorization = self._authorization(scopes)
            if authorization:
                send_headers["Authorization"] = authorization
            try:
                response = self._session.request(
                    method,
                    full_url,
                    headers=send_headers,
                    data=body() if body else None,
                    stream=stream,
                    timeout=_TIMEOUT,
                    allow_redirects=True,
                )
            except _connection_errors() as exc:
                if attempt < self._retries:
                    attempt += 1
                    self._wait(attempt, None)
                    continue
                raise RegistryError(
                    f"registry {self.registry}: {what}: cannot connect ({type(exc).__name__}) "
                    f"to {full_url} (tried {attempt + 1} times); "
                    "is the registry running and reachable?"
                ) from None
            if response.status_code in expected:
                return response
            if response.status_code == 401 and not authenticated:
                header = response.headers.get("WWW-Authenticate", "")
                response.close()
                if header:
                    self._challenge = Challenge.parse(header)
                    self._tokens.pop(scopes, None)
                    authenticated = True
                    if self._challenge.scheme == "basic" and self._credentials.anonymous:
                        raise RegistryAuthError(
                            f"registry {self.registry}: {what}: needs credentials; "
                            "log in with docker login or set CNB_REGISTRY_AUTH"
                        )
                    continue
            if response.status_code in _RETRY_STATUSES and attempt < self._retries:
                response.close()
                attempt += 1
                self._wait(attempt, response.headers.get("Retry-After"))
                continue
            raise self._error(response, what, missing, tries=attempt + 1)

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        """Sleep before retry number ``attempt``: exponential backoff, or longer when the
        registry asked for it with ``Retry-After``; never more than ``max_wait``."""
        delay = self._backoff * 2 ** (attempt - 1)
        asked = _retry_after_seconds(retry_after) if retry_after else None
        if asked is not None:
            delay = max(delay, asked)
        time.sleep(min(delay, self._max_wait))

    def _error(
        self,
        response: requests.Response,
        what: str,
        missing: type[RegistryError] | None,
        *,
        tries: int = 1,
    ) -> RegistryError:
        code, message = "", ""
        try:
            errors = response.json().get("errors") or []
            if errors:
                code = str(errors[0].get("code", ""))
                message = str(errors[0].get("message", ""))
        except (ValueError, AttributeError):
            pass
        finally:
            response.close()
        detail = f"{response.status_code} {code} {message}".strip()
        text = f"registry {self.registry}: {what}: {detail}"
        if response.status_code == 429:
            return RegistryError(
                f"{text} (tried {tries} times); the registry limits requests: "
                "wait and try again, or log in for a higher limit"
            )
        if response.status_code in _RETRY_STATUSES:
            return RegistryError(
                f"{text} (tried {tries} times); the registry failed: try again later"
            )
        if response.status_code in (401, 403):
            return RegistryAuthError(
                f"{text} ({self._credentials.describe()}; check the credentials)"
            )
        if response.status_code == 404 and missing is BlobUnknown:
            return missing(f"{text}; an image there needs the blob: push that image again")
        if response.status_code == 404 and missing is not None:
            return missing(text)
        return RegistryError(text)

    # --- API ---------------------------------------------------------------------------------

    def ping(self) -> None:
        """Check the registry speaks the distribution API (``GET /v2/``), authenticating."""
        self._request("GET", "/v2/", scopes=(), what="ping", expect=(200,)).close()

    def head_blob(self, repository: str, digest: str) -> int | None:
        """The blob's size if the repository has it, else None."""
        response = self._request(
            "HEAD",
            f"/v2/{repository}/blobs/{digest}",
            scopes=(pull_scope(repository),),
            what=f"HEAD blob {repository}@{digest}",
            expect=(200, 404),
        )
        response.close()
        if response.status_code == 404:
            return None
        return int(response.headers.get("Content-Length", "0"))

    def open_blob(self, repository: str, digest: str) -> Iterator[bytes]:
        """Stream a blob's bytes; the stream raises :class:`DigestMismatch` at its end if the
        content does not match ``digest``. A connection lost mid-way is resumed from the byte
        it stopped at (``Range``), up to ``retries`` times."""
        what = f"GET blob {repository}@{digest}"

        def get(offset: int) -> requests.Response:
            return self._request(
                "GET",
                f"/v2/{repository}/blobs/{digest}",
                scopes=(pull_scope(repository),),
                what=what,
                expect=(200, 206) if offset else (200,),
                headers={"Range": f"bytes={offset}-"} if offset else None,
                stream=True,
                missing=BlobUnknown,
            )

        first = get(0)

        def chunks() -> Iterator[bytes]:
            response, received, attempt = first, 0, 0
            while True:
                # a registry that ignores Range sends the whole blob again: skip what we have
                skip = received if response.status_code == 200 else 0
                try:
                    with response:
                        for chunk in response.iter_content(CHUNK):
                            if skip:
                                chunk, skip = chunk[skip:], max(0, skip - len(chunk))
                            if chunk:
                                received += len(chunk)
                                yield chunk
                    return
                except _connection_errors() as exc:
                    if attempt >= self._retries:
                        raise RegistryError(
                            f"registry {self.registry}: {what}: connection lost after "
                            f"{received} bytes ({type(exc).__name__}, tried {attempt + 1} "
                            "times); is the registry reachable?"
                        ) from None
                    attempt += 1
                    self._wait(attempt, None)
                    response = get(received)

        return verified_chunks(chunks(), digest, f"registry {self.registry}: blob {digest}")

    def read_blob(self, repository: str, digest: str) -> bytes:
        """A small blob (a config), checked against its digest."""
        return b"".join(self.open_blob(repository, digest))

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Ask the registry to link a blob from another repository; True if it did."""
        query = urlencode({"mount": digest, "from": from_repository})
        response = self._request(
            "POST",
            f"/v2/{repository}/blobs/uploads/?{query}",
            scopes=(push_scope(repository), pull_scope(from_repository)),
            what=f"mount blob {digest} from {from_repository} into {repository}",
            expect=(201, 202),
        )
        response.close()
        if response.status_code == 201:
            return True
        location = response.headers.get("Location")
        if location:  # the registry opened an upload instead; we do not need it
            self._cancel_upload(repository, self._absolute(location))
        return False

    def _cancel_upload(self, repository: str, location: str) -> None:
        self._request(
            "DELETE",
            location,
            scopes=(push_scope(repository),),
            what="cancel upload",
            expect=(204, 404, 405),
        ).close()

    def _start_upload(self, repository: str) -> str:
        response = self._request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            scopes=(push_scope(repository),),
            what=f"start blob upload to {repository}",
            expect=(202,),
        )
        response.close()
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"registry {self.registry}: upload started without a Location")
        return self._absolute(location)

    def _absolute(self, location: str) -> str:
        return location if location.startswith("http") else urljoin(self.base_url, location)

    def upload_blob(
        self, repository: str, opener: Callable[[], BinaryIO], digest: str, size: int
    ) -> None:
        """Upload a blob of known digest in one PUT, streaming it from ``opener()`` (called
        again on a retry, so the whole blob is always sent); ``size`` < 0 if unknown."""
        location = self._start_upload(repository)
        files: list[BinaryIO] = []

        def body() -> KnownLength | BinaryIO:
            for stale in files:
                stale.close()
            files.append(opener())
            return KnownLength(files[-1], size) if size >= 0 else files[-1]

        # a negative size is unknown: requests sizes a file, or sends a stream chunked
        length = {"Content-Length": str(size)} if size >= 0 else {}

        try:
            self._request(
                "PUT",
                _with_query(location, {"digest": digest}),
                scopes=(push_scope(repository),),
                what=f"upload blob {digest} to {repository}",
                expect=(201,),
                headers={"Content-Type": "application/octet-stream", **length},
                body=body,
            ).close()
        finally:
            for file in files:
                file.close()

    def upload_chunks(self, repository: str, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Upload a blob whose digest is known only at the end, as a series of PATCH requests
        (one per chunk, each retried whole); return its digest and size."""
        location = self._start_upload(repository)
        hasher = hashlib.sha256()
        offset = 0
        for chunk in chunks:
            if not chunk:
                continue
            hasher.update(chunk)
            end = offset + len(chunk) - 1
            response = self._request(
                "PATCH",
                location,
                scopes=(push_scope(repository),),
                what=f"upload chunk to {repository}",
                expect=(202,),
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{end}",
                    "Content-Length": str(len(chunk)),
                },
                body=_constant(chunk),
            )
            response.close()
            location = self._absolute(response.headers.get("Location", location))
            offset = end + 1
        digest = "sha256:" + hasher.hexdigest()
        self._request(
            "PUT",
            _with_query(location, {"digest": digest}),
            scopes=(push_scope(repository),),
            what=f"finish upload of blob {digest} to {repository}",
            expect=(201,),
            headers={"Content-Length": "0"},
        ).close()
        return digest, offset

    def get_manifest(self, repository: str, reference: str) -> RawDocument:
        """A manifest or index by tag or digest, checked against its digest."""
        response = self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            scopes=(pull_scope(repository),),
            what=f"GET manifest {repository}:{reference}",
            expect=(200,),
            headers={"Accept": mediatypes.ACCEPT_ALL},
            missing=ManifestUnknown,
        )
        raw = response.content
        expected = reference if reference.startswith("sha256:") else None
        expected = expected or response.headers.get("Docker-Content-Digest")
        digest = sha256_of(raw)
        where = f"registry {self.registry}: manifest {repository}:{reference}"
        if expected is not None:
            verify(raw, expected, where)
        media_type = _manifest_media_type(
            response.headers.get("Content-Type", ""), raw, f"{where} ({digest})"
        )
        return RawDocument(raw, media_type, digest)

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The digest of a manifest if it exists, else None."""
        response = self._request(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            scopes=(pull_scope(repository),),
            what=f"HEAD manifest {repository}:{reference}",
            expect=(200, 404),
            headers={"Accept": mediatypes.ACCEPT_ALL},
        )
        response.close()
        if response.status_code == 404:
            return None
        return response.headers.get("Docker-Content-Digest")

    def put_manifest(self, repository: str, reference: str, document: RawDocument) -> str:
        """Store a manifest under a tag or its digest; return the digest the registry reports."""
        response = self._request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scopes=(push_scope(repository),),
            what=f"PUT manifest {repository}:{reference}",
            expect=(201,),
            headers={"Content-Type": document.media_type},
            body=lambda: document.raw,
        )
        response.close()
        reported = response.headers.get("Docker-Content-Digest", document.digest)
        if reported != document.digest:
            raise DigestMismatch(
                f"registry {self.registry}: stored manifest as {reported}, sent {document.digest}"
            )
        return reported

    def check_push_access(self, repository: str) -> None:
        """Fail early when ``repository`` cannot be written: start an upload and cancel it."""
        self._cancel_upload(repository, self._start_upload(repository))


def _connection_errors() -> tuple[type[Exception], ...]:
    """What requests raises for a connection refused, dropped or cut off mid-answer."""
    exceptions = _requests().exceptions
    return (exceptions.ConnectionError, exceptions.Timeout, exceptions.ChunkedEncodingError)


def _retry_after_seconds(value: str) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds, or an HTTP date), or None."""
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _manifest_media_type(content_type: str, raw: bytes, where: str) -> str:
    """The media type of a manifest a registry served, refusing a document that is no image
    manifest or index, or whose own ``mediaType`` contradicts the ``Content-Type``."""
    known = mediatypes.MANIFESTS | mediatypes.INDEXES
    header = content_type.split(";")[0].strip()
    declared = media_type_of(raw)  # the document's own mediaType, or its kind by its keys
    try:
        own = json.loads(raw).get("mediaType")
    except (ValueError, AttributeError):
        own = None
    claimed = header not in _GENERIC_TYPES  # a Content-Type that says what the document is
    contradicts = (claimed and isinstance(own, str) and own != header) or (
        declared is not None
        and header in known
        and mediatypes.is_index(declared) != mediatypes.is_index(header)
    )
    if contradicts:
        raise ManifestMismatch(
            f"{where}: served as {header} but the document is {declared}; "
            "the registry or a proxy in front of it is misbehaving"
        )
    media_type = header if header in known else (declared or header or mediatypes.OCI_MANIFEST)
    if media_type not in known:
        raise ManifestMismatch(
            f"{where}: media type {media_type!r} is not an OCI or Docker v2 manifest or index"
        )
    return media_type


def _with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


class KnownLength:
    """A stream of ``size`` bytes that says its length. requests cannot tell the length of a
    stream that is not a file (a blob read from another registry) and then marks the body
    chunked while sending it unframed beside our Content-Length; registries refuse that
    ("invalid byte in chunk length")."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._size = size

    def __len__(self) -> int:
        return self._size

    def read(self, amount: int = -1) -> bytes:
        return self._stream.read(amount)


def _constant(data: bytes) -> Callable[[], bytes]:
    return lambda: data
