"""Running as the CNB user: chown what the user must write, then drop root.

Like the reference lifecycle, phases that may start as root (analyzer, restorer, exporter,
creator) give their volumes to ``-uid``/``-gid`` when that user cannot write them, then switch
to that user before doing anything else.
"""

from __future__ import annotations

import contextlib
import os
import pwd
from collections.abc import Iterable
from pathlib import Path


def ensure_owner(uid: int, gid: int, paths: Iterable[Path | None]) -> None:
    """Give each existing path not already owned by ``uid:gid`` to that user, recursively
    (root only); a volume whose top is already theirs is left as it is, as the reference does."""
    for path in paths:
        if path is None or not path.exists():
            continue
        st = os.lstat(path)
        if (st.st_uid, st.st_gid) != (uid, gid):
            give_tree(path, uid, gid)


def give_tree(path: Path, uid: int, gid: int) -> None:
    """Give everything under ``path`` to ``uid:gid`` (only as root; entries already theirs are
    left alone)."""
    if os.geteuid() != 0 or not path.exists():
        return
    for root, dirs, files in os.walk(path):
        for name in (".", *dirs, *files):
            entry = os.path.join(root, name)
            st = os.lstat(entry)
            if (st.st_uid, st.st_gid) != (uid, gid):
                os.lchown(entry, uid, gid)


def run_as(uid: int, gid: int, *, keep_docker_socket: bool = False) -> None:
    """Become ``uid:gid`` for good (a no-op when already that user), with its HOME; with
    ``keep_docker_socket`` keep the socket's group, so the daemon stays reachable."""
    if os.geteuid() == uid and os.getegid() == gid:
        return
    if os.geteuid() != 0:
        return
    groups = []
    if keep_docker_socket:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        socket_path = Path(host.removeprefix("unix://"))
        if host.startswith("unix://") and socket_path.exists():
            groups.append(socket_path.stat().st_gid)
    os.setgroups(groups)
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    with contextlib.suppress(KeyError):
        os.environ["HOME"] = pwd.getpwuid(uid).pw_dir


def cnb_ids(uid_flag: str | None, gid_flag: str | None, environ: dict[str, str]) -> tuple[int, int]:
    """``-uid``/``-gid``, else ``CNB_USER_ID``/``CNB_GROUP_ID``, else the current user."""
    uid = uid_flag or environ.get("CNB_USER_ID") or str(os.getuid())
    gid = gid_flag or environ.get("CNB_GROUP_ID") or str(os.getgid())
    return int(uid), int(gid)
