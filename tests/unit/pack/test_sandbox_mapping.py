"""The bubblewrap sandbox without running it: ``--volume`` parsing, the host → sandbox path
mapping, the bwrap command line, and the reachability check for the CNB user."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pypack.errors import UserError
from pypack.pack.sandbox import (
    EXTRA_MOUNT,
    HOST_CA_MOUNT,
    PLAN_MOUNT,
    BwrapRunner,
    Volume,
    unsearchable_ancestor,
)

BWRAP = "/usr/bin/bwrap"
SETPRIV = "/usr/bin/setpriv"

# --- --volume ------------------------------------------------------------------------------


def test_a_read_only_volume_by_default(tmp_path: Path) -> None:
    assert Volume.parse(f"{tmp_path}:/data") == Volume(tmp_path, "/data", writable=False)
    assert Volume.parse(f"{tmp_path}:/data:ro") == Volume(tmp_path, "/data", writable=False)


def test_a_writable_volume(tmp_path: Path) -> None:
    assert Volume.parse(f"{tmp_path}:/data:rw") == Volume(tmp_path, "/data", writable=True)


def test_the_host_is_resolved_and_the_target_normalised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    volume = Volume.parse("sub/../sub:/data//x/./y/")
    assert volume == Volume(tmp_path / "sub", "/data/x/y")
    assert Volume.parse(f"{tmp_path}:/layers/../data").target == "/data"


@pytest.mark.parametrize(
    "text", ["", "nocolon", ":/data", "/host:", "/host:relative", "/host:/a:ro:extra"]
)
def test_a_malformed_volume(text: str) -> None:
    with pytest.raises(UserError) as raised:
        Volume.parse(text)
    assert str(raised.value) == f"--volume {text!r}: expected /host/path:/target/path[:ro|rw]"


@pytest.mark.parametrize("mode", ["RO", "rx", "", "z"])
def test_an_unknown_mode(tmp_path: Path, mode: str) -> None:
    text = f"{tmp_path}:/data:{mode}"
    with pytest.raises(UserError) as raised:
        Volume.parse(text)
    assert str(raised.value) == f"--volume {text!r}: mode must be ro or rw, not {mode!r}"


BINDING_HINT = " (a binding goes under /platform/bindings/<name>)"


@pytest.mark.parametrize(
    ("target", "reserved", "hint"),
    [
        ("/cnb", "/cnb", ""),
        ("/cnb/buildpacks", "/cnb", ""),
        ("/layers", "/layers", ""),
        ("/layers/sbom/x", "/layers", ""),
        ("/workspace", "/workspace", ""),
        ("/workspace/", "/workspace", ""),
        ("/data/../cnb/x", "/cnb", ""),
        ("/platform", "/platform", BINDING_HINT),
        ("/platform/env", "/platform/env", BINDING_HINT),
        ("/platform/env/X", "/platform/env", BINDING_HINT),
    ],
)
def test_a_target_the_build_uses_is_refused(
    tmp_path: Path, target: str, reserved: str, hint: str
) -> None:
    text = f"{tmp_path}:{target}"
    with pytest.raises(UserError) as raised:
        Volume.parse(text)
    assert str(raised.value) == (
        f"--volume {text!r}: {reserved} is reserved for the build; mount elsewhere{hint}"
    )


@pytest.mark.parametrize("mode", ["ro", "rw"])
def test_a_binding_under_platform_is_fine_as_in_pack(tmp_path: Path, mode: str) -> None:
    # pack's processVolumes only warns about /cnb, /layers and /workspace; bindings are mounted
    # at /platform/bindings/<name> (the CNB bindings spec).
    volume = Volume.parse(f"{tmp_path}:/platform/bindings/db:{mode}")
    assert (volume.target, volume.writable) == ("/platform/bindings/db", mode == "rw")


def test_the_reserved_check_comes_before_the_host_check(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="/cnb is reserved"):
        Volume.parse(f"{tmp_path / 'missing'}:/cnb")


@pytest.mark.parametrize(
    "target", ["/cnbx", "/layers2", "/my/workspace", "/workspaces", "/platform/envx", "/platformx"]
)
def test_a_target_that_only_looks_reserved_is_fine(tmp_path: Path, target: str) -> None:
    assert Volume.parse(f"{tmp_path}:{target}").target == target


def test_a_missing_host_directory(tmp_path: Path) -> None:
    text = f"{tmp_path / 'missing'}:/data"
    with pytest.raises(UserError) as raised:
        Volume.parse(text)
    assert str(raised.value) == f"--volume {text!r}: {tmp_path / 'missing'} does not exist"


@pytest.mark.parametrize("target", [PLAN_MOUNT, EXTRA_MOUNT, "/tmp", "/"])
def test_a_target_over_the_sandbox_mounts_is_refused(tmp_path: Path, target: str) -> None:
    with pytest.raises(UserError, match="reserved for the build"):
        Volume.parse(f"{tmp_path}:{target}")


# --- the runner ----------------------------------------------------------------------------


RunnerFor = Callable[..., BwrapRunner]


@pytest.fixture
def runner_for(open_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> RunnerFor:
    """``runner_for(euid=1000, uid=1000, gid=1001, **fields)``: a runner over ``open_tmp``'s
    ``rootfs`` and ``work``, as if bwrap and setpriv were at /usr/bin and the platform ran as
    ``euid``."""
    for name in ("rootfs", "work"):
        (open_tmp / name).mkdir()
        (open_tmp / name).chmod(0o755)
    tools = {"bwrap": BWRAP, "setpriv": SETPRIV}

    def make(*, euid: int = 1000, uid: int = 1000, gid: int = 1001, **fields: Any) -> BwrapRunner:
        monkeypatch.setattr(shutil, "which", tools.get)
        monkeypatch.setattr(os, "geteuid", lambda: euid)
        return BwrapRunner(open_tmp / "rootfs", open_tmp / "work", uid, gid, **fields)

    return make


def test_no_bwrap_is_one_line(open_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(UserError) as raised:
        BwrapRunner(open_tmp, open_tmp, 1000, 1000)
    assert str(raised.value) == (
        "bubblewrap (bwrap) is not installed; install it or build with --docker"
    )


def test_host_paths_become_sandbox_paths(runner_for: RunnerFor, open_tmp: Path) -> None:
    runner = runner_for()
    rootfs, work = open_tmp / "rootfs", open_tmp / "work"
    assert runner.inside(str(rootfs)) == "/"
    assert runner.inside(f"{rootfs}/cnb/buildpacks/ex_a/1.0.0/bin/build") == (
        "/cnb/buildpacks/ex_a/1.0.0/bin/build"
    )
    assert runner.inside(str(work / "workspace")) == "/workspace"
    assert runner.inside(str(work / "layers" / "ex_a" / "deps")) == "/layers/ex_a/deps"
    assert runner.inside(str(work / "platform" / "env")) == "/platform/env"
    assert runner.inside(str(work / "plan" / "ex_a" / "plan.toml")) == (
        f"{PLAN_MOUNT}/ex_a/plan.toml"
    )
    assert runner.inside(str(work / "extra" / "cnb" / "buildpacks")) == (
        f"{EXTRA_MOUNT}/cnb/buildpacks"
    )
    assert runner.inside("/usr/bin/env") == "/usr/bin/env", "other paths are left alone"
    assert runner.inside("plain text") == "plain text"


def test_every_path_in_a_value_is_mapped(runner_for: RunnerFor, open_tmp: Path) -> None:
    runner = runner_for()
    rootfs, work = open_tmp / "rootfs", open_tmp / "work"
    value = f"{work}/layers/a/bin:{rootfs}/cnb/bin:{work}/layers/b/bin:/usr/bin"
    assert runner.inside(value) == "/layers/a/bin:/cnb/bin:/layers/b/bin:/usr/bin"


def test_a_host_path_inside_another_is_mapped_by_the_longer_one(
    open_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = open_tmp / "work"
    rootfs = work / "workspace" / "rootfs"
    monkeypatch.setattr(shutil, "which", lambda name: BWRAP)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    runner = BwrapRunner(rootfs, work, 1000, 1000)
    assert runner.inside(f"{rootfs}/cnb/x") == "/cnb/x"
    assert runner.inside(f"{work}/workspace/app.py") == "/workspace/app.py"


def test_the_whole_command_line(runner_for: RunnerFor, open_tmp: Path) -> None:
    rootfs, work = open_tmp / "rootfs", open_tmp / "work"
    runner = runner_for()
    for target in ("data", "cache"):
        (rootfs / target).mkdir()
    runner = runner_for(
        volumes=[Volume(Path("/srv/data"), "/data"), Volume(Path("/srv/cache"), "/cache", True)],
        host_ca=Path("/etc/ssl/certs/ca-certificates.crt"),
    )
    argv = [
        f"{rootfs}/cnb/buildpacks/ex_a/1.0.0/bin/build",
        f"{work}/layers/ex_a",
        f"{work}/platform",
        f"{work}/plan/ex_a/plan.toml",
    ]
    env = {"PATH": "/usr/bin:/bin", "CNB_LAYERS_DIR": f"{work}/layers/ex_a", "A": "1"}
    assert runner.argv(argv, env, work / "workspace") == [
        BWRAP,
        *("--ro-bind", str(rootfs), "/"),
        *("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"),
        *("--bind", str(work / "workspace"), "/workspace"),
        *("--bind", str(work / "layers"), "/layers"),
        *("--bind", str(work / "platform"), "/platform"),
        *("--bind", str(work / "plan"), PLAN_MOUNT),
        *("--bind", str(work / "extra"), EXTRA_MOUNT),
        *("--ro-bind", "/srv/data", "/data"),
        *("--bind", "/srv/cache", "/cache"),
        *("--ro-bind", "/etc/ssl/certs/ca-certificates.crt", HOST_CA_MOUNT),
        *("--unshare-all", "--die-with-parent", "--new-session"),
        *("--unshare-user", "--uid", "1000", "--gid", "1001"),
        *("--chdir", "/workspace", "--clearenv"),
        *("--setenv", "A", "1"),
        *("--setenv", "CNB_LAYERS_DIR", "/layers/ex_a"),
        *("--setenv", "PATH", "/usr/bin:/bin"),
        "--",
        "/cnb/buildpacks/ex_a/1.0.0/bin/build",
        "/layers/ex_a",
        "/platform",
        f"{PLAN_MOUNT}/ex_a/plan.toml",
    ]


def test_the_network_only_with_network_host(runner_for: RunnerFor, open_tmp: Path) -> None:
    work = open_tmp / "work"
    isolated = runner_for().argv(["true"], {}, work)
    assert "--share-net" not in isolated
    shared = runner_for(network=True).argv(["true"], {}, work)
    assert shared[shared.index("--new-session") + 1] == "--share-net"
    assert [a for a in shared if a != "--share-net"] == isolated


def test_no_volumes_and_no_ca_bundle_bind_nothing_more(
    runner_for: RunnerFor, open_tmp: Path
) -> None:
    command = runner_for().argv(["true"], {}, open_tmp / "work")
    assert command.count("--ro-bind") == 1
    assert command.count("--bind") == 5
    assert HOST_CA_MOUNT not in command
    assert command[-2:] == ["--", "true"]


def test_root_drops_to_the_cnb_user_with_setpriv(runner_for: RunnerFor, open_tmp: Path) -> None:
    runner = runner_for(euid=0, uid=1000, gid=1001)
    command = runner.argv(["true"], {}, open_tmp / "work")
    assert command[:5] == [SETPRIV, "--reuid=1000", "--regid=1001", "--clear-groups", BWRAP]
    as_user = runner_for(euid=1000).argv(["true"], {}, open_tmp / "work")
    assert command[4:] == as_user


def test_root_building_as_root_needs_no_setpriv(runner_for: RunnerFor, open_tmp: Path) -> None:
    command = runner_for(euid=0, uid=0, gid=0).argv(["true"], {}, open_tmp / "work")
    assert command[0] == BWRAP
    assert command[command.index("--uid") : command.index("--uid") + 4] == [
        *("--uid", "0", "--gid", "0")
    ]


def test_root_gives_the_argument_paths_in_the_work_tree_to_the_cnb_user(
    runner_for: RunnerFor, open_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = open_tmp / "work"
    (work / "layers" / "ex_a").mkdir(parents=True)
    (work / "plan" / "ex_a").mkdir(parents=True)
    (work / "plan" / "ex_a" / "plan.toml").write_text("")
    runner = runner_for(euid=0, uid=1000, gid=1001)
    chowned: list[tuple[Path, int, int]] = []
    monkeypatch.setattr(os, "chown", lambda path, uid, gid: chowned.append((path, uid, gid)))
    argv = [
        str(work / "plan" / "ex_a"),
        str(work / "layers" / "ex_a"),
        str(work / "plan" / "ex_a" / "plan.toml"),
        str(work / "missing"),
        str(open_tmp / "rootfs"),
        str(work),
    ]
    runner._give_to_cnb_user(argv)
    assert chowned == [
        (work / "layers" / "ex_a", 1000, 1001),
        (work / "layers", 1000, 1001),
        (work / "plan" / "ex_a" / "plan.toml", 1000, 1001),
        (work / "plan" / "ex_a", 1000, 1001),
        (work, 1000, 1001),
    ], "the program (argv[0]), missing paths and paths outside the work tree are left alone"
    chowned.clear()
    runner_for(euid=1000)._give_to_cnb_user(argv)
    assert chowned == [], "only root changes owners"


# --- can the CNB user reach the build's paths ----------------------------------------------


OTHER = 54321
"""A uid and gid that own nothing here."""


def locked_dir(parent: Path, mode: int) -> Path:
    path = parent / f"dir-{mode:o}"
    path.mkdir()
    path.chmod(mode)
    return path


def test_everything_reachable(open_tmp: Path) -> None:
    assert unsearchable_ancestor(open_tmp / "missing" / "deeper", OTHER, OTHER) is None
    assert unsearchable_ancestor(locked_dir(open_tmp, 0o711) / "x", OTHER, OTHER) is None


def test_the_first_closed_directory_is_named(open_tmp: Path) -> None:
    outer = locked_dir(open_tmp, 0o700)
    inner = locked_dir(outer, 0o700)
    assert unsearchable_ancestor(inner / "x", OTHER, OTHER) == outer


def test_the_owner_bits_count_for_the_owner(open_tmp: Path) -> None:
    path = locked_dir(open_tmp, 0o700)
    assert unsearchable_ancestor(path, os.getuid(), OTHER) is None
    no_owner_x = locked_dir(open_tmp, 0o071)
    assert unsearchable_ancestor(no_owner_x, os.getuid(), os.getgid()) == no_owner_x


def test_the_group_bits_count_for_the_group(open_tmp: Path) -> None:
    group_only = locked_dir(open_tmp, 0o710)
    assert unsearchable_ancestor(group_only, OTHER, group_only.stat().st_gid) is None
    others_only = locked_dir(open_tmp, 0o701)
    assert unsearchable_ancestor(others_only, OTHER, others_only.stat().st_gid) == others_only
    assert unsearchable_ancestor(others_only, OTHER, OTHER) is None


def test_root_refuses_a_rootfs_the_cnb_user_cannot_reach(
    open_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = locked_dir(open_tmp, 0o700)
    (closed / "rootfs").mkdir()
    monkeypatch.setattr(shutil, "which", lambda name: BWRAP)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(UserError) as raised:
        BwrapRunner(closed / "rootfs", open_tmp, OTHER, OTHER)
    assert str(raised.value) == (
        f"{closed / 'rootfs'}: the build user (uid {OTHER}) cannot reach it because {closed} is "
        f"not searchable by others; chmod o+x {closed} or set PYPACK_HOME (and --path) outside it"
    )


def test_root_refuses_a_volume_the_cnb_user_cannot_reach(
    open_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = locked_dir(open_tmp, 0o700)
    monkeypatch.setattr(shutil, "which", lambda name: BWRAP)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    volume = Volume(closed / "data", "/data")
    with pytest.raises(UserError) as raised:
        BwrapRunner(open_tmp, open_tmp, OTHER, OTHER, volumes=[volume])
    assert str(raised.value).startswith(f"{closed / 'data'}: the build user (uid {OTHER}) ")
    assert BwrapRunner(open_tmp, open_tmp, 0, 0, volumes=[volume]).uid == 0, "root reaches all"


def test_a_user_platform_does_not_check_reachability(
    open_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = locked_dir(open_tmp, 0o700)
    monkeypatch.setattr(shutil, "which", lambda name: BWRAP)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert BwrapRunner(closed, closed, OTHER, OTHER).rootfs == closed


def test_a_volume_the_builder_has_no_directory_for(runner_for: RunnerFor, open_tmp: Path) -> None:
    # bubblewrap cannot make a mount point in the read-only rootfs: the deepest directory that
    # exists becomes a tmpfs of read-only binds of its entries, read-only again at the end.
    rootfs = open_tmp / "rootfs"
    runner_for()
    (rootfs / "usr" / "share").mkdir(parents=True)
    (rootfs / "etc").mkdir()
    (rootfs / "bin").symlink_to("usr/bin")
    (rootfs / "usr" / "share" / "doc").mkdir()
    runner = runner_for(
        volumes=[
            Volume(Path("/srv/data"), "/data/set", True),
            Volume(Path("/srv/docs"), "/usr/share/mine"),
            Volume(Path("/srv/doc"), "/usr/share/doc"),
        ]
    )
    argv = runner.argv(["/bin/true"], {}, open_tmp / "work" / "workspace")
    assert argv[: argv.index("--proc")] == [
        BWRAP,
        *("--symlink", "usr/bin", "/bin"),
        *("--ro-bind", str(rootfs / "etc"), "/etc"),
        *("--ro-bind", str(rootfs / "usr"), "/usr"),
        *("--tmpfs", "/usr/share"),
        *("--ro-bind", str(rootfs / "usr" / "share" / "doc"), "/usr/share/doc"),
    ]
    volumes = argv.index("/srv/data") - 1
    assert argv[volumes : volumes + 9] == [
        *("--bind", "/srv/data", "/data/set"),
        *("--ro-bind", "/srv/docs", "/usr/share/mine"),
        *("--ro-bind", "/srv/doc", "/usr/share/doc"),
    ]
    assert argv[volumes + 9 : volumes + 13] == [
        *("--remount-ro", "/"),
        *("--remount-ro", "/usr/share"),
    ]
