"""The exporter's layer tars: parent directories never carry the owner of the user who builds."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from pypack.lifecycle.layer_tars import TarMaker

CNB = (1000, 1000)
HOST_USER = 4242
"""The uid of an unprivileged user running a build (made so by chown when the test is root)."""


def owners(tar: Path) -> dict[str, tuple[int, int]]:
    with tarfile.open(tar) as opened:
        return {member.name: (member.uid, member.gid) for member in opened}


def sbom_tree(root: Path) -> Path:
    """``<root>/layers/sbom/launch/sbom.legacy.json``, as the builder phase leaves it."""
    launch = root / "layers" / "sbom" / "launch"
    launch.mkdir(parents=True)
    (launch / "sbom.legacy.json").write_text("{}")
    return launch


def host_user_owns(root: Path) -> int:
    """Give ``root``'s directories to an unprivileged user (when root; otherwise they already
    are the running user's); that user's uid."""
    if os.geteuid() != 0:
        return os.geteuid()
    for directory in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.chown(directory, HOST_USER, HOST_USER)
    return HOST_USER


def maker(tmp_path: Path, root: Path = Path("/")) -> TarMaker:
    scratch = tmp_path / f"scratch-{len(list(tmp_path.glob('scratch-*')))}"
    scratch.mkdir()
    return TarMaker(scratch, *CNB, root=root)


def test_daemonless_parents_below_the_work_dir_are_the_cnb_users(tmp_path: Path) -> None:
    work = tmp_path / "build-1"
    launch = sbom_tree(work)
    host_user_owns(work / "layers")
    if os.geteuid() == 0:
        os.chown(work / "layers" / "sbom", 0, 0)  # as root's in-process builder phase leaves it
    path, _ = maker(tmp_path, work).directory(launch)
    assert owners(path) == {
        "layers": CNB,
        "layers/sbom": CNB,
        "layers/sbom/launch": CNB,
        "layers/sbom/launch/sbom.legacy.json": CNB,
    }


def test_the_same_tree_gives_the_same_layers_whoever_made_it(tmp_path: Path) -> None:
    digests = []
    for name in ("root", "user"):
        work = tmp_path / name / "build"
        launch = sbom_tree(work)
        (work / "workspace").mkdir()
        (work / "workspace" / "app.py").write_text("print()\n")
        if name == "user":
            host_user_owns(work)
        tars = maker(tmp_path, work)
        _, sbom = tars.directory(launch)
        ((_, app),) = tars.app_slices(work / "workspace", [])
        digests.append((sbom.diff_id, app.diff_id))
    assert digests[0] == digests[1]


def test_in_a_container_parents_keep_their_real_owners(tmp_path: Path) -> None:
    launch = sbom_tree(tmp_path / "volumes")
    if os.geteuid() == 0:
        os.chown(tmp_path / "volumes", 1234, 1234)  # another user's directory stays theirs
    entries = owners(maker(tmp_path).directory(launch)[0])
    if tmp_path.is_relative_to("/tmp"):
        assert entries["tmp"] == (0, 0)
    if os.geteuid() == 0:
        assert entries[str((tmp_path / "volumes").relative_to("/"))] == (1234, 1234)


def test_in_a_container_the_running_users_parents_are_the_cnb_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch = sbom_tree(tmp_path / "volumes")
    running = host_user_owns(tmp_path / "volumes")
    monkeypatch.setattr(os, "geteuid", lambda: running)
    entries = owners(maker(tmp_path).directory(launch)[0])
    assert entries[str((tmp_path / "volumes").relative_to("/"))] == CNB
    assert entries[str((tmp_path / "volumes" / "layers" / "sbom").relative_to("/"))] == CNB
    assert all(uid != running for uid, _ in entries.values())
