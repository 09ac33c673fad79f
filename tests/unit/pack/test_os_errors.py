"""Operating-system errors are one line with the path that matters and the fix."""

from __future__ import annotations

import errno
import os

import pytest

from pypack.pack.cli import os_error_line


def test_a_full_disk_names_the_copy_target_and_the_fix() -> None:
    error = OSError(
        errno.ENOSPC, os.strerror(errno.ENOSPC), "/app/big.bin", None, "/home/x/w/big.bin"
    )
    assert os_error_line(error) == (
        "/home/x/w/big.bin: No space left on device; "
        "free some space there and run the command again"
    )


def test_a_full_disk_without_a_path_says_where_pypack_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYPACK_HOME", "/data/pypack")
    line = os_error_line(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    assert line.startswith("No space left on device (pypack writes to its home, /data/pypack, ")
    assert line.endswith("; free some space there and run the command again")


def test_other_errors_keep_their_path_and_have_a_fix_when_one_is_known() -> None:
    denied = PermissionError(errno.EACCES, os.strerror(errno.EACCES), "/srv/app")
    assert (
        os_error_line(denied) == "/srv/app: Permission denied; check the permissions of that path"
    )
    busy = OSError(errno.EBUSY, os.strerror(errno.EBUSY), "/mnt")
    assert os_error_line(busy) == "/mnt: Device or resource busy"
