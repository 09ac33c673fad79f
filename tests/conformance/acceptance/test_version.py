"""acceptance/acceptance_test.go translated: ``-version`` alone, or among other flags, prints
only the version, for every phase binary and the multi-call lifecycle itself.

The reference prints ``<version>+<commit>``; pypack has no commit to add and prints its
version.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from pypack import __version__
from pypack.spec.api import SUPPORTED_PLATFORM_APIS

LATEST = str(SUPPORTED_PLATFORM_APIS[-1])


# acceptance/acceptance_test.go:141 "only prints the version", one row per test case there
@pytest.mark.parametrize(
    "argv",
    [
        ["detector", "-version"],
        ["detector", "-app=/some/dir", "-version"],
        ["analyzer", "-version"],
        ["analyzer", "-daemon", "-version"],
        ["restorer", "-version"],
        ["restorer", "-cache-dir=/some/dir", "-version"],
        ["builder", "-version"],
        ["builder", "-app=/some/dir", "-version"],
        ["exporter", "-version"],
        ["exporter", "-app=/some/dir", "-version"],
        ["rebaser", "-version"],
        ["rebaser", "-daemon", "-version"],
        ["-version"],
    ],
    ids=" ".join,
)
def test_version_flag_only_prints_the_version(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pypack.lifecycle.main", *argv],
        capture_output=True, text=True, check=False, timeout=60,
        env={"CNB_PLATFORM_API": LATEST, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert (done.returncode, done.stdout + done.stderr) == (0, f"{__version__}\n")
