"""``pypack build --docker`` drives the builder's creator at Platform API 0.12 or newer only:
the lifecycle runs 0.7-0.11 too, but this platform passes 0.12's flags (``-run``)."""

from __future__ import annotations

import json

import pytest

from pypack.errors import UserError
from pypack.pack.docker_build import _platform_api


def label(*supported: str) -> str:
    return json.dumps({"lifecycle": {"apis": {"platform": {"supported": list(supported)}}}})


def test_newest_common_api() -> None:
    assert str(_platform_api(label("0.7", "0.9", "0.13"))) == "0.13"
    assert str(_platform_api(None)) == "0.15"


def test_a_lifecycle_without_0_12_is_refused() -> None:
    with pytest.raises(UserError, match=r"0\.12-0\.15"):
        _platform_api(label("0.7", "0.8", "0.9", "0.10", "0.11"))
