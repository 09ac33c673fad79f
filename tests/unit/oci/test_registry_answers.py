"""How the registry client reads what a registry says: ``Retry-After`` waits and the media type
of a served manifest (the proxy tests in tests/robustness drive them against a real registry)."""

from __future__ import annotations

import email.utils
import json
import time

import pytest

from pypack.oci import mediatypes
from pypack.oci.registry import (
    ManifestMismatch,
    RegistryClient,
    _manifest_media_type,
    _retry_after_seconds,
)

MANIFEST = json.dumps({"mediaType": mediatypes.OCI_MANIFEST, "layers": []}).encode()
BARE_MANIFEST = json.dumps({"schemaVersion": 2, "layers": []}).encode()
INDEX = json.dumps({"mediaType": mediatypes.OCI_INDEX, "manifests": []}).encode()


@pytest.mark.parametrize(
    ("header", "seconds"), [("2", 2.0), ("0", 0.0), ("-5", 0.0), ("1.5", 1.5), ("soon", None)]
)
def test_retry_after_in_seconds(header: str, seconds: float | None) -> None:
    assert _retry_after_seconds(header) == seconds


def test_retry_after_as_an_http_date() -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    asked = _retry_after_seconds(later)
    assert asked is not None
    assert 28 <= asked <= 30
    assert _retry_after_seconds(email.utils.formatdate(0, usegmt=True)) == 0.0


def test_a_wait_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    client = RegistryClient("127.0.0.1:1", backoff=0.1, max_wait=5)
    client._wait(1, "3600")
    client._wait(1, "2")
    client._wait(3, None)
    client._wait(1, "not a number")
    assert slept == [5, 2.0, pytest.approx(0.4), 0.1]


@pytest.mark.parametrize(
    ("content_type", "raw", "media_type"),
    [
        (mediatypes.OCI_MANIFEST, MANIFEST, mediatypes.OCI_MANIFEST),
        (f"{mediatypes.OCI_INDEX}; charset=utf-8", INDEX, mediatypes.OCI_INDEX),
        ("application/json", MANIFEST, mediatypes.OCI_MANIFEST),
        ("", BARE_MANIFEST, mediatypes.OCI_MANIFEST),
        (mediatypes.DOCKER_MANIFEST, BARE_MANIFEST, mediatypes.DOCKER_MANIFEST),
    ],
)
def test_a_manifest_media_type_that_agrees_is_taken(
    content_type: str, raw: bytes, media_type: str
) -> None:
    assert _manifest_media_type(content_type, raw, "m") == media_type


@pytest.mark.parametrize(
    ("content_type", "raw", "problem"),
    [
        (mediatypes.OCI_INDEX, MANIFEST, "served as application/vnd.oci.image.index.v1+json"),
        (mediatypes.DOCKER_MANIFEST, MANIFEST, "but the document is application/vnd.oci"),
        (mediatypes.OCI_MANIFEST, INDEX, "served as application/vnd.oci.image.manifest"),
        ("text/html", MANIFEST, "served as text/html"),
        (mediatypes.OCI_INDEX, BARE_MANIFEST, "served as application/vnd.oci.image.index"),
        ("text/html", b"<html>", "media type 'text/html' is not an OCI or Docker v2 manifest"),
    ],
)
def test_a_manifest_media_type_that_contradicts_is_refused(
    content_type: str, raw: bytes, problem: str
) -> None:
    with pytest.raises(ManifestMismatch, match=r"^registry r: manifest a:1 ") as refused:
        _manifest_media_type(content_type, raw, "registry r: manifest a:1 (sha256:x)")
    assert problem in str(refused.value)
    assert "\n" not in str(refused.value)
