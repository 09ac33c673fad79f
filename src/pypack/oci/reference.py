"""Image references: the docker reference grammar, and ``oci:PATH[:TAG]`` layout references.

``python`` means ``docker.io/library/python:latest``; ``localhost:5000/app@sha256:...`` keeps
its registry and digest. Parsing normalises the way Docker does, so two spellings of one image
compare equal.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from pathlib import Path

from pypack.errors import UserError

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"
_LEGACY_REGISTRIES = {"index.docker.io", "registry-1.docker.io"}

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_HOST_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_REGISTRY = re.compile(rf"(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}")


class InvalidReference(UserError):
    """A string that is not an image reference."""


@dataclass(frozen=True)
class Reference:
    """A normalised image reference: registry, repository, and a tag and/or a digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``registry/repository``, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """What to ask the registry for: the digest if there is one, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def with_tag(self, tag: str) -> Reference:
        """The same repository at ``tag`` (and no digest)."""
        if not _TAG.fullmatch(tag):
            raise InvalidReference(f"invalid tag {tag!r}")
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: str) -> Reference:
        """The same repository pinned to ``digest`` (the tag is dropped)."""
        return replace(self, tag=None, digest=digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """Parse and normalise ``text``; a malformed reference is an :class:`InvalidReference`."""
    original = text
    if not text or text != text.strip():
        raise InvalidReference(f"invalid image reference {original!r}: empty or padded")
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.fullmatch(digest):
            raise InvalidReference(f"invalid image reference {original!r}: bad digest {digest!r}")
    tag = None
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        text, tag = text[:colon], text[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise InvalidReference(f"invalid image reference {original!r}: bad tag {tag!r}")
    registry, repository = _split_registry(text)
    if not _REGISTRY.fullmatch(registry):
        raise InvalidReference(f"invalid image reference {original!r}: bad registry {registry!r}")
    if not _REPOSITORY.fullmatch(repository):
        reason = "must be lowercase" if repository.lower() != repository else "bad repository name"
        raise InvalidReference(f"invalid image reference {original!r}: {reason}")
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(registry, repository, tag, digest)


def _split_registry(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    is_host = sep and (
        "." in first or ":" in first or first == "localhost" or first.lower() != first
    )
    if not is_host:
        return DEFAULT_REGISTRY, name
    if first in _LEGACY_REGISTRIES:
        first = DEFAULT_REGISTRY
    return first, rest


def is_loopback(registry: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``[::1]``, with or without a port.

    Docker talks plain http to these without being told; so does pypack.
    """
    host = registry
    if host.startswith("["):
        host = host[1 : host.find("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class LayoutReference:
    """``oci:PATH[:TAG]``: an image in an OCI image layout directory anywhere."""

    path: Path
    tag: str = DEFAULT_TAG

    def __str__(self) -> str:
        return f"oci:{self.path}:{self.tag}"


LAYOUT_PREFIX = "oci:"


def parse_layout_reference(text: str) -> LayoutReference:
    """Parse ``oci:PATH[:TAG]``; the tag is what follows the last ``:`` when it has no ``/``."""
    if not text.startswith(LAYOUT_PREFIX):
        raise InvalidReference(f"invalid layout reference {text!r}: must start with 'oci:'")
    body = text[len(LAYOUT_PREFIX) :]
    path, sep, tag = body.rpartition(":")
    if not sep or "/" in tag or not path:
        path, tag = body, DEFAULT_TAG
    if not path:
        raise InvalidReference(f"invalid layout reference {text!r}: no path")
    if not _TAG.fullmatch(tag):
        raise InvalidReference(f"invalid layout reference {text!r}: bad tag {tag!r}")
    return LayoutReference(Path(path), tag)
