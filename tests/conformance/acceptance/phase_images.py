"""Fixture images for the acceptance translations, and a registry with per-repository access.

The reference's phase tests build their fixture images (an app image carrying lifecycle
metadata, a cache image, a run image) once per phase, push them to a registry that requires
authentication and grants some repositories special access (read-only, read/write, none), and
load others into the Docker daemon. Here the images are made with ``pypack.oci`` from the
session's busybox base and pushed to the real test registry; :class:`AccessRegistry`, a small
proxy in front of that registry, adds the authentication and the per-repository access rules.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pypack.oci.image import Image
from pypack.oci.models import Platform
from pypack.oci.stores import RegistryImageStore
from pypack.spec.api import SUPPORTED_PLATFORM_APIS, ApiVersion

if TYPE_CHECKING:
    import docker

PLATFORM_APIS = [str(api) for api in SUPPORTED_PLATFORM_APIS]
"""Every Platform API the lifecycle supports: each reference case runs once per API."""


def apis_from(version: str) -> list[str]:
    """The supported Platform APIs at or above ``version`` (the reference skips older ones)."""
    return [api for api in PLATFORM_APIS if ApiVersion.parse(api).at_least(version)]


APP_METADATA = {
    "buildpacks": [
        {
            "key": "some-buildpack-id",
            "layers": {
                "launch-layer": {"launch": True, "sha": "launch-sha", "data": {"k": "launch"}},
                "launch-build-layer": {
                    "launch": True,
                    "build": True,
                    "sha": "launch-build-sha",
                    "data": {"k": "launch-build"},
                },
                "launch-build-cache-layer": {
                    "launch": True,
                    "build": True,
                    "cache": True,
                    "sha": "launch-build-cache-sha",
                    "data": {"k": "launch-build-cache"},
                },
                "launch-cache-layer": {
                    "launch": True,
                    "cache": True,
                    "sha": "launch-cache-sha",
                    "data": {"k": "launch-cache"},
                },
                "launch-false-layer": {"sha": "launch-false-sha", "data": {"k": "not-launch"}},
            },
            "store": {"metadata": {"store-table": {"store-key": "store-value"}}},
        }
    ]
}
"""An ``io.buildpacks.lifecycle.metadata`` label: one buildpack's layers of every kind."""

CACHE_METADATA = {
    "buildpacks": [
        {
            "key": "some-buildpack-id",
            "layers": {
                "some-layer": {"cache": True, "sha": "some-layer-sha", "data": {"k": "cached"}}
            },
        }
    ]
}
"""An ``io.buildpacks.lifecycle.cache.metadata`` label."""

_REPO_PATH = re.compile(r"^/v2/(?P<repo>.+?)/(?:manifests|blobs|tags)/")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


@dataclass
class AccessRegistry:
    """A proxy in front of a real registry that needs Basic credentials for every repository
    except those granted anonymous access: ``read_only`` ones may be pulled by anyone and
    pushed by no one, ``read_write`` ones pulled and pushed by anyone, ``inaccessible`` ones
    neither, whatever the credentials."""

    upstream: str
    user: str = "pypack"
    password: str = field(default_factory=lambda: secrets.token_hex(8))
    read_only: set[str] = field(default_factory=set)
    read_write: set[str] = field(default_factory=set)
    inaccessible: set[str] = field(default_factory=set)
    address: str = ""
    _server: ThreadingHTTPServer | None = None

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value the proxy accepts."""
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return f"Basic {token}"

    @property
    def auth_config(self) -> str:
        """``CNB_REGISTRY_AUTH`` for this registry."""
        return json.dumps({self.address: self.authorization})

    def write_docker_config(self, directory: Path) -> Path:
        """A Docker ``config.json`` with this registry's credentials, in ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        auth = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        (directory / "config.json").write_text(
            json.dumps({"auths": {self.address: {"auth": auth}}})
        )
        return directory

    def name(self, repository: str) -> str:
        """The reference of ``repository`` (``:latest``) through the proxy."""
        return f"{self.address}/{repository}"

    def allowed(self, method: str, repository: str | None, authorization: str | None) -> bool:
        """Whether a request may pass to the real registry."""
        if repository is None:
            return True
        if repository in self.inaccessible:
            return False
        if repository in self.read_write:
            return True
        if repository in self.read_only:
            return method not in _WRITES
        return authorization == self.authorization

    def start(self) -> None:
        """Listen on a free loopback port (``address``)."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self) -> None:
                body = self._body() if self.command in _WRITES else b""
                match = _REPO_PATH.match(self.path)
                repository = match.group("repo") if match else None
                if not proxy.allowed(self.command, repository, self.headers.get("Authorization")):
                    payload = json.dumps({
                        "errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]
                    }).encode()  # fmt: skip
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="pypack-acceptance"')
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                    return
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in _HOP_BY_HOP and k.lower() != "authorization"
                }
                if self.command in _WRITES:
                    headers["Content-Length"] = str(len(body))
                connection = http.client.HTTPConnection(proxy.upstream, timeout=60)
                try:
                    connection.request(self.command, self.path, body=body or None, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                finally:
                    connection.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() in _HOP_BY_HOP and not (
                        self.command == "HEAD" and key.lower() == "content-length"
                    ):
                        continue
                    self.send_header(key, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def labelled(base: Image, label: str | None = None, value: object = None) -> Image:
    """A linux/amd64 copy of ``base``, with ``label`` set to ``value`` as JSON."""
    image = base.copy()
    image.set_platform(Platform(os="linux", architecture="amd64"))
    if label is not None:
        image.set_label(label, json.dumps(value, separators=(",", ":")))
    return image


def app_image(base: Image) -> Image:
    """An app image with lifecycle metadata (the reference's ``app-image`` fixture)."""
    return labelled(base, "io.buildpacks.lifecycle.metadata", APP_METADATA)


def cache_image(base: Image) -> Image:
    """A cache image with cache metadata (the reference's ``cache-image`` fixture)."""
    return labelled(base, "io.buildpacks.lifecycle.cache.metadata", CACHE_METADATA)


@dataclass
class RegistryFixtures:
    """The reference's registry fixture images: their names through the access proxy."""

    registry: AccessRegistry
    inaccessible: str
    read_only_app: str
    read_only_cache: str
    read_only_run: str
    read_write_app: str
    read_write_cache: str
    read_write_other_app: str
    some_app: str
    some_cache: str
    run_image: Image

    @property
    def auth_config(self) -> str:
        """``CNB_REGISTRY_AUTH`` for the registry."""
        return self.registry.auth_config


@dataclass
class DaemonFixtures:
    """The reference's daemon fixture images (names in the test dockerd)."""

    app: str
    cache: str
    run: str


def _push(upstream: str, image: Image, repository: str) -> None:
    RegistryImageStore().save(image, [f"{upstream}/{repository}"])


@pytest.fixture(scope="session")
def reg_fixtures(registry: str, busybox_base: Image) -> Iterator[RegistryFixtures]:
    """Fixture images behind an :class:`AccessRegistry` proxy of the test registry."""
    proxy = AccessRegistry(upstream=registry)
    proxy.start()
    suffix = secrets.token_hex(5)
    run = labelled(busybox_base)
    made: dict[str, str] = {}
    for key, image, access in (
        ("read_only_app", app_image(busybox_base), proxy.read_only),
        ("read_only_cache", cache_image(busybox_base), proxy.read_only),
        ("read_only_run", run, proxy.read_only),
        ("read_write_app", app_image(busybox_base), proxy.read_write),
        ("read_write_cache", cache_image(busybox_base), proxy.read_write),
        ("read_write_other_app", app_image(busybox_base), proxy.read_write),
        ("some_app", app_image(busybox_base), None),
        ("some_cache", cache_image(busybox_base), None),
    ):
        repository = f"acceptance/{key.replace('_', '-')}-image-{suffix}"
        _push(registry, image, repository)
        if access is not None:
            access.add(repository)
        made[key] = proxy.name(repository)
    inaccessible = f"acceptance/inaccessible-image-{suffix}"
    proxy.inaccessible.add(inaccessible)
    try:
        yield RegistryFixtures(
            registry=proxy, inaccessible=proxy.name(inaccessible), run_image=run, **made
        )
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def daemon_fixtures(
    docker_client: docker.DockerClient, busybox_base: Image
) -> Iterator[DaemonFixtures]:
    """An app, a cache and a run image in the test dockerd."""
    from pypack.oci.daemon import DaemonImageStore

    store = DaemonImageStore(docker_client)
    suffix = secrets.token_hex(5)
    names = DaemonFixtures(
        app=f"some-app-image-{suffix}",
        cache=f"some-cache-image-{suffix}",
        run=f"some-run-image-{suffix}",
    )
    store.save(app_image(busybox_base), [names.app])
    store.save(cache_image(busybox_base), [names.cache])
    store.save(labelled(busybox_base), [names.run])
    try:
        yield names
    finally:
        for name in (names.app, names.cache, names.run):
            docker_client.images.remove(name, force=True)
