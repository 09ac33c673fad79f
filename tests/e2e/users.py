"""Unprivileged users for end-to-end tests: made with useradd (when the tests run as root), and
a way to run a command as one of them."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import tool

USER_PATH = "/usr/local/bin:/usr/bin:/bin"
"""A Debian user's PATH: no sbin directories."""
USER_KEEPS = frozenset({"DOCKER_HOST", "PYTHONPATH", "TMPDIR"})
"""Variables of the test's environment that a command run as the user keeps (with PYPACK_*
and proxies)."""
FIRST_ID = 1500
"""Test users get ids from here on: never root's or the stacks' CNB users' (1000, 1001), so a
leak of the host user's uid into a layer cannot hide behind them."""

REPO = Path(__file__).parents[2]


@dataclass(frozen=True)
class HostUser:
    """An unprivileged user of this machine that a test runs pypack as (see :func:`host_user`)."""

    name: str
    uid: int
    gid: int
    home: Path
    view: Path | None = None
    """Where the checkout is bind-mounted for the user when it cannot reach it (CI may clone
    into a 0700 directory): pypack then runs from there in a private mount namespace."""
    umask: int | None = None
    """The umask commands start with (else the test's)."""

    def directory(self, prefix: str) -> Path:
        """A new directory under /tmp that the user owns (for its PYPACK_HOME)."""
        path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        path.chmod(0o755)
        os.chown(path, self.uid, self.gid)
        return path

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """What the user's login shell would have, plus pypack's own variables of ``env`` (not
        root's whole environment: its variables must not hide what a user's lacks)."""
        kept = {
            key: value
            for key, value in env.items()
            if key in USER_KEEPS or key.startswith("PYPACK") or key.lower().endswith("_proxy")
        }
        changed = {
            **kept,
            "PATH": USER_PATH,
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
        }
        if self.view is not None:
            changed["PYTHONPATH"] = str(self.view / "src")
        return changed

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run as the user, with no capabilities left (bubblewrap refuses to start with
        any, so the conformance harness's DAC_READ_SEARCH is no way in here)."""
        if self.view is not None:
            view = str(self.view)
            argv = [arg.replace(str(REPO), view) for arg in argv]
            if argv[0].endswith("/pypack"):
                python = str(Path(argv[0]).parent / "python")
                argv = [python, "-c", "from pypack.pack.cli import main; main()", *argv[1:]]
        if self.umask is not None:
            argv = ["sh", "-c", f'umask {self.umask:03o} && exec "$@"', "sh", *argv]
        command = [tool("setpriv"), f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups"]
        command += argv
        if self.view is None:
            return command
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        bind = [tool("unshare"), "--mount", "--propagation", "private", "--", "sh", "-c", script]
        return [*bind, "sh", str(REPO), str(self.view), *command]


@contextmanager
def host_user(name: str, *, subids: bool) -> Iterator[HostUser]:
    """A new unprivileged user ``name`` (made with useradd, removed again afterwards, and
    first, when a killed run left it behind), with or without a range of subordinate ids for
    rootless stack builds."""
    from pypack.pack.rootless import SUBGID_FILE, SUBUID_FILE, RootlessCheck
    from pypack.pack.sandbox import unsearchable_ancestor

    if os.geteuid() != 0:
        pytest.skip("running pypack as another, unprivileged user needs a test run as root")
    _remove_user(name)
    counts = [] if subids else ["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0"]
    uid = next(n for n in range(FIRST_ID, 60000) if _free_id(n))
    subprocess.run(
        [tool("useradd"), "--create-home", "--user-group", "--shell", "/bin/sh",
         "--uid", str(uid), *counts, name],
        check=True,
        capture_output=True,
    )  # fmt: skip
    view = None
    try:
        entry = pwd.getpwnam(name)
        check = RootlessCheck(
            uid=entry.pw_uid,
            user=name,
            subuid=SUBUID_FILE.read_text(),
            subgid=SUBGID_FILE.read_text(),
        )
        flags = check.usermod_flags()
        if subids and flags:  # the range scripts/setup.sh gives a user
            subprocess.run([tool("usermod"), *flags, name], check=True, capture_output=True)
        if not subids and not flags:
            pytest.fail(f"useradd gave test user {name} subordinate ids despite SUB_UID_COUNT=0")
        interpreter = Path(os.path.realpath(sys.executable))
        blocked = unsearchable_ancestor(interpreter, entry.pw_uid, entry.pw_gid)
        if blocked is not None:  # e.g. a pyenv Python under /root; the distribution's is not
            pytest.skip(f"user {name} cannot run {interpreter}: {blocked} is private")
        needed = (REPO, Path(sys.executable).parent)
        if any(unsearchable_ancestor(p, entry.pw_uid, entry.pw_gid) for p in needed):
            if not Path(sys.executable).is_relative_to(REPO):
                pytest.skip(f"user {name} cannot reach {sys.executable}, outside the checkout")
            view = Path(tempfile.mkdtemp(prefix="pypack-view-", dir="/tmp"))
            view.chmod(0o755)
        yield HostUser(name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir), view)
    finally:
        if view is not None:
            view.rmdir()
        _remove_user(name)


def _remove_user(name: str) -> None:
    """Remove user ``name`` with its home, if it exists (waiting a little for its last
    processes to end)."""
    for _ in range(20):
        try:
            pwd.getpwnam(name)
        except KeyError:
            return
        done = subprocess.run(
            [tool("userdel"), "--remove", name], capture_output=True, text=True, check=False
        )
        if done.returncode in (0, 12):  # 12: the home could not be removed entirely
            return
        time.sleep(0.25)
    warnings.warn(f"could not remove test user {name}: {done.stderr.strip()}", stacklevel=2)


def _free_id(number: int) -> bool:
    """True when ``number`` is neither a uid nor a gid yet (so useradd gives the group it)."""
    try:
        pwd.getpwuid(number)
    except KeyError:
        try:
            grp.getgrgid(number)
        except KeyError:
            return True
    return False
