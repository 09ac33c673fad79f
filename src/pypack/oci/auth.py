"""Registry credentials: where they come from, and how a challenge is answered.

Credentials are looked up the way the Docker CLI and the reference lifecycle do:

1. ``CNB_REGISTRY_AUTH``: JSON ``{"<registry>": "<Authorization header value>"}``;
2. the Docker config (``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``):
   ``credHelpers[<registry>]``, then ``auths[<registry>]``, then ``credsStore``;
3. otherwise anonymous.

A secret never appears in a log line, an error message or an image: :class:`Credentials`
hides its fields from ``repr``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pypack.errors import UserError

_DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io")


@dataclass(frozen=True)
class Credentials:
    """What to present to a registry: a ready header, a user and password, or a token."""

    header: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)

    @property
    def anonymous(self) -> bool:
        """True when there is nothing to present."""
        return not (self.header or self.username or self.identity_token)

    def basic(self) -> str | None:
        """The ``Basic`` header value for the user and password, if any."""
        if self.username is None or self.password is None:
            return None
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def describe(self) -> str:
        """Who these credentials are, without the secret."""
        if self.username:
            return f"user {self.username!r}"
        if self.header:
            return f"a {self.header.split(' ', 1)[0]} header from CNB_REGISTRY_AUTH"
        if self.identity_token:
            return "an identity token"
        return "no credentials"


ANONYMOUS = Credentials()


class CredentialsError(UserError):
    """Credentials are configured but cannot be read."""


class Keychain:
    """Finds credentials for a registry host from the environment and the Docker config."""

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        docker_config: Path | None = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._docker_config = docker_config
        self._cache: dict[str, Credentials] = {}

    def resolve(self, registry: str) -> Credentials:
        """Credentials for ``registry`` (``host[:port]``); anonymous when none are set."""
        if registry not in self._cache:
            self._cache[registry] = self._lookup(registry)
        return self._cache[registry]

    def _lookup(self, registry: str) -> Credentials:
        from_env = self._from_cnb_registry_auth(registry)
        if from_env is not None:
            return from_env
        config = self._read_docker_config()
        keys = _DOCKER_HUB_KEYS if registry == "docker.io" else (registry, f"https://{registry}")
        helpers = config.get("credHelpers") or {}
        for key in keys:
            if isinstance(helpers, dict) and key in helpers:
                return _from_helper(str(helpers[key]), registry)
        auths = config.get("auths") or {}
        for key in (*keys, f"http://{registry}"):
            entry = auths.get(key) if isinstance(auths, dict) else None
            if isinstance(entry, dict) and entry:
                return _from_auth_entry(entry, registry)
        store = config.get("credsStore")
        if isinstance(store, str) and store:
            return _from_helper(store, registry, missing_ok=True)
        return ANONYMOUS

    def _from_cnb_registry_auth(self, registry: str) -> Credentials | None:
        raw = self._environ.get("CNB_REGISTRY_AUTH")
        if not raw:
            return None
        try:
            table = json.loads(raw)
        except ValueError:
            raise CredentialsError(
                'CNB_REGISTRY_AUTH: not JSON; expected {"<registry>": "Basic <base64>"}'
            ) from None
        if not isinstance(table, dict):
            raise CredentialsError("CNB_REGISTRY_AUTH: expected a JSON object of registry → header")
        value = table.get(registry)
        if value is None and registry == "docker.io":
            value = next((table[k] for k in _DOCKER_HUB_KEYS if k in table), None)
        if value is None:
            return None
        if not isinstance(value, str) or " " not in value:
            raise CredentialsError(
                f"CNB_REGISTRY_AUTH: {registry}: expected a header value like 'Basic <base64>'"
            )
        return Credentials(header=value)

    def _read_docker_config(self) -> dict[str, object]:
        path = self._docker_config_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise CredentialsError(f"{path}: cannot read the Docker config: {exc}") from None
        return data if isinstance(data, dict) else {}

    def _docker_config_path(self) -> Path:
        if self._docker_config is not None:
            return self._docker_config
        directory = self._environ.get("DOCKER_CONFIG")
        if directory:
            return Path(directory) / "config.json"
        return Path(self._environ.get("HOME", str(Path.home()))) / ".docker" / "config.json"


def _from_auth_entry(entry: Mapping[str, object], registry: str) -> Credentials:
    token = entry.get("identitytoken")
    if isinstance(token, str) and token:
        return Credentials(identity_token=token, username=_str(entry.get("username")))
    registry_token = entry.get("registrytoken")
    if isinstance(registry_token, str) and registry_token:
        return Credentials(header=f"Bearer {registry_token}")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            raise CredentialsError(
                f"Docker config: auths.{registry}.auth is not base64 of 'user:password'"
            ) from None
        return Credentials(username=user, password=password)
    name, secret = _str(entry.get("username")), _str(entry.get("password"))
    if name is not None and secret is not None:
        return Credentials(username=name, password=secret)
    return ANONYMOUS


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _from_helper(helper: str, registry: str, *, missing_ok: bool = False) -> Credentials:
    if not re.fullmatch(r"[A-Za-z0-9._-]+", helper):
        raise CredentialsError(f"Docker config: credential helper name {helper!r} is not valid")
    program = f"docker-credential-{helper}"
    try:
        result = subprocess.run(
            [program, "get"],
            input=registry,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        raise CredentialsError(
            f"Docker config names the credential helper {helper!r}, but {program} is not on PATH"
        ) from None
    if result.returncode != 0:
        if missing_ok or "credentials not found" in (result.stdout + result.stderr).lower():
            return ANONYMOUS
        raise CredentialsError(f"{program} get {registry}: exited with {result.returncode}")
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        raise CredentialsError(f"{program} get {registry}: did not answer JSON") from None
    username, secret = _str(answer.get("Username")), _str(answer.get("Secret"))
    if not secret:
        return ANONYMOUS
    if username == "<token>":
        return Credentials(identity_token=secret)
    return Credentials(username=username, password=secret)
