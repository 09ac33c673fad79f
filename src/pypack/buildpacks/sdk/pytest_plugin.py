"""pytest fixtures for buildpack authors (registered as the ``pypack_buildpacks`` plugin)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pypack.buildpacks.sdk.testing import BuildpackHarness


@pytest.fixture
def buildpack_harness(tmp_path: Path) -> Callable[[Path], BuildpackHarness]:
    """Make a :class:`BuildpackHarness` for a buildpack directory, with scratch under tmp_path."""

    def make(buildpack_dir: Path) -> BuildpackHarness:
        return BuildpackHarness(buildpack_dir, tmp_path / "harness")

    return make
