"""The docker reference grammar, normalised as Docker does, and oci: layout references."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypack.oci.reference import (
    InvalidReference,
    LayoutReference,
    Reference,
    is_loopback,
    parse_layout_reference,
    parse_reference,
)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("python", Reference("docker.io", "library/python", "latest")),
        ("python:3.12", Reference("docker.io", "library/python", "3.12")),
        ("paketo/builder", Reference("docker.io", "paketo/builder", "latest")),
        ("docker.io/python", Reference("docker.io", "library/python", "latest")),
        ("index.docker.io/library/python:3", Reference("docker.io", "library/python", "3")),
        ("localhost/app", Reference("localhost", "app", "latest")),
        ("localhost:5000/team/app:v1", Reference("localhost:5000", "team/app", "v1")),
        ("127.0.0.1:5000/app", Reference("127.0.0.1:5000", "app", "latest")),
        ("ghcr.io/org/sub/app:1.0.0-rc_1", Reference("ghcr.io", "org/sub/app", "1.0.0-rc_1")),
        (f"gcr.io/app@{DIGEST}", Reference("gcr.io", "app", None, DIGEST)),
        (f"gcr.io/app:v2@{DIGEST}", Reference("gcr.io", "app", "v2", DIGEST)),
        ("[::1]:5000/app", Reference("[::1]:5000", "app", "latest")),
        (
            "my-registry.example.com/a__b/c.d-e",
            Reference("my-registry.example.com", "a__b/c.d-e", "latest"),
        ),
    ],
)
def test_parse(text: str, expected: Reference) -> None:
    assert parse_reference(text) == expected


def test_str_and_identifier() -> None:
    ref = parse_reference("localhost:5000/app")
    assert str(ref) == "localhost:5000/app:latest"
    assert ref.identifier == "latest"
    pinned = ref.with_digest(DIGEST)
    assert str(pinned) == f"localhost:5000/app@{DIGEST}"
    assert pinned.identifier == DIGEST
    assert str(pinned.with_tag("v2")) == "localhost:5000/app:v2"
    assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        (" app", "padded"),
        ("App", "must be lowercase"),
        ("app:", "bad tag"),
        ("app:-x", "bad tag"),
        ("app@sha256:zz", "bad digest"),
        ("host:port/app", "bad registry"),
        ("a//b", "bad repository name"),
        ("app:" + "t" * 129, "bad tag"),
    ],
)
def test_parse_rejects(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference, match=reason):
        parse_reference(text)


def test_uppercase_first_component_is_a_registry() -> None:
    assert parse_reference("MyHost/app").registry == "MyHost"


@pytest.mark.parametrize(
    ("registry", "loopback"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("127.0.0.1:5000", True),
        ("127.3.4.5", True),
        ("[::1]:5000", True),
        ("10.0.0.1:5000", False),
        ("registry.example.com", False),
        ("docker.io", False),
    ],
)
def test_loopback(registry: str, loopback: bool) -> None:
    assert is_loopback(registry) is loopback


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oci:/tmp/layout", LayoutReference(Path("/tmp/layout"), "latest")),
        ("oci:/tmp/layout:v1", LayoutReference(Path("/tmp/layout"), "v1")),
        ("oci:relative/dir:edge", LayoutReference(Path("relative/dir"), "edge")),
        ("oci:/a:b/c", LayoutReference(Path("/a:b/c"), "latest")),
    ],
)
def test_layout_reference(text: str, expected: LayoutReference) -> None:
    assert parse_layout_reference(text) == expected


def test_layout_reference_rejects() -> None:
    with pytest.raises(InvalidReference, match="must start with 'oci:'"):
        parse_layout_reference("/tmp/x")
    with pytest.raises(InvalidReference, match="no path"):
        parse_layout_reference("oci:")
