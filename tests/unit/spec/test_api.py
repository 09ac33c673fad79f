"""API versions parse and compare numerically, and the supported lists match the contract."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pypack.spec.api import (
    LATEST_BUILDPACK_API,
    LATEST_PLATFORM_API,
    SUPPORTED_BUILDPACK_APIS,
    SUPPORTED_PLATFORM_APIS,
    ApiVersion,
)


def test_minor_compares_as_a_number() -> None:
    assert ApiVersion.parse("0.10") > ApiVersion.parse("0.9")
    assert ApiVersion.parse("0.10").at_least("0.9")
    assert ApiVersion.parse("0.9").less_than("0.10")
    assert ApiVersion.parse("1.0") > ApiVersion.parse("0.99")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.12", (0, 12)), ("1", (1, 0)), ("v0.7", (0, 7)), (" 0.15 ", (0, 15)), ("2.3", (2, 3))],
)
def test_parse(text: str, expected: tuple[int, int]) -> None:
    version = ApiVersion.parse(text)
    assert (version.major, version.minor) == expected


@pytest.mark.parametrize("text", ["", "0.", "0.1.2", "a.b", "0.01", "-1.0", "0,9", "latest"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not an API version"):
        ApiVersion.parse(text)


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_str_round_trips(major: int, minor: int) -> None:
    version = ApiVersion(major, minor)
    assert ApiVersion.parse(str(version)) == version


@given(
    st.tuples(st.integers(0, 50), st.integers(0, 50)),
    st.tuples(st.integers(0, 50), st.integers(0, 50)),
)
def test_order_is_numeric(a: tuple[int, int], b: tuple[int, int]) -> None:
    assert (ApiVersion(*a) < ApiVersion(*b)) == (a < b)


def test_supported_lists() -> None:
    assert [str(v) for v in SUPPORTED_BUILDPACK_APIS] == [
        "0.7",
        "0.8",
        "0.9",
        "0.10",
        "0.11",
        "0.12",
    ]
    assert [str(v) for v in SUPPORTED_PLATFORM_APIS] == [
        "0.7", "0.8", "0.9", "0.10", "0.11", "0.12", "0.13", "0.14", "0.15"
    ]  # fmt: skip
    assert str(LATEST_BUILDPACK_API) == "0.12"
    assert str(LATEST_PLATFORM_API) == "0.15"
    assert list(SUPPORTED_PLATFORM_APIS) == sorted(SUPPORTED_PLATFORM_APIS)
