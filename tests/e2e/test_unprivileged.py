"""pypack as an unprivileged user: the same images as root's, no host uid in any layer, stacks
made by mmdebstrap without root, and one line naming what is missing when a machine cannot.

The user is made with useradd (see ``host_user``); pypack runs as it through setpriv, with a
PYPACK_HOME it owns, next to the same commands run as root."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pypack.oci.stores import LayoutImageStore
from pypack.pack.home import Home
from pypack.pack.images import local_name
from pypack.pack.stack_build import StackDefinition, debian_rootfs
from tests.conftest import DATA, tool
from tests.e2e.conftest import run_cache, run_pypack, shared_home
from tests.e2e.users import REPO, HostUser, host_user

pytestmark = pytest.mark.e2e

TINY_BUILDER = REPO / "samples/builders/tiny/builder.toml"
CNB_OWNERS = {(0, 0), (1000, 1000), (1001, 1000)}
"""root, and the stacks' build (cnb) and run (cnb-run) users."""
STACK_CACHE = run_cache() / "stack-cache"
"""Root's mmdebstrap tarballs, kept for the whole CI run (shared with the other e2e tests)."""


@pytest.fixture(scope="session")
def build_user() -> Iterator[HostUser]:
    """An unprivileged user with subordinate ids, as scripts/setup.sh leaves a developer."""
    with host_user("pypack-e2e", subids=True) as user:
        yield user


@pytest.fixture(scope="session")
def user_without_subids() -> Iterator[HostUser]:
    """An unprivileged user without subordinate ids."""
    with host_user("pypack-e2e-nosubid", subids=False) as user:
        yield user


@pytest.fixture
def homes(build_user: HostUser) -> Iterator[tuple[Path, Path]]:
    """A pypack home for root and one the build user owns."""
    root_home, user_home = build_user.directory("pypack-root-"), build_user.directory("pypack-u-")
    os.chown(root_home, 0, 0)
    yield root_home, user_home
    for home in (root_home, user_home):
        shutil.rmtree(home, ignore_errors=True)


def built_digest(output: str) -> str:
    """The digest of ``Successfully built image NAME (DIGEST)``."""
    (line,) = [line for line in output.splitlines() if line.startswith("Successfully built")]
    return line.rsplit("(", 1)[1].rstrip(")")


def layer_owners(home: Path, name: str, skip: int = 0) -> dict[str, set[tuple[int, int]]]:
    """uid:gid of every tar entry of each layer of an image (past the first ``skip`` layers),
    by diffID."""
    image = LayoutImageStore(Home(home).images).load(local_name(name))
    assert image is not None, name
    owners = {}
    for diff_id in image.diff_ids[skip:]:
        with (
            image.layer(diff_id).open_uncompressed() as stream,
            tarfile.open(fileobj=stream) as tar,
        ):
            owners[diff_id] = {(member.uid, member.gid) for member in tar}
    return owners


def test_a_user_builds_the_image_root_builds_with_a_builder_from_a_registry(
    homes: tuple[Path, Path], build_user: HostUser, registry: str
) -> None:
    root_home, user_home = homes
    builder = f"{registry}/pypack-e2e/unprivileged-builder:1"
    insecure = ("--insecure-registry", registry)
    stacks = []
    for home, user in ((root_home, None), (user_home, build_user)):
        stacks.append(run_pypack(home, "stack", "build", "tiny", user=user).stdout)
    assert stacks[0] == stacks[1]  # the same build and run images
    run_pypack(root_home, "builder", "create", builder, "--config", str(TINY_BUILDER), "--publish",
               *insecure)  # fmt: skip
    app = ("--path", str(REPO / "samples/static-site"), "--builder", builder, *insecure)
    as_root = run_pypack(root_home, "build", "samples/site:1", *app)
    as_user = run_pypack(user_home, "build", "samples/site:1", *app, user=build_user)
    assert "static-site: 1 files to serve" in as_user.stdout  # the buildpack ran under bwrap
    assert built_digest(as_user.stdout) == built_digest(as_root.stdout)
    for diff_id, owners in layer_owners(user_home, "samples/site:1").items():
        assert owners <= CNB_OWNERS, f"layer {diff_id}: owners {owners}"


def test_a_user_with_umask_002_builds_the_image_root_builds(
    homes: tuple[Path, Path], build_user: HostUser
) -> None:
    """Ubuntu's and Fedora's users have umask 002; a builder container has 022."""
    group_writable = dataclasses.replace(build_user, umask=0o002)
    digests = []
    for home, user in zip(homes, (None, group_writable), strict=True):
        run_pypack(home, "stack", "build", "tiny", user=user)
        run_pypack(home, "builder", "create", "samples/builder:1", "--config", str(TINY_BUILDER),
                   user=user)  # fmt: skip
        app = ("--path", str(REPO / "samples/static-site"), "--builder", "samples/builder:1")
        digests.append(built_digest(run_pypack(home, "build", "site:1", *app, user=user).stdout))
    assert digests[0] == digests[1]


def test_a_python_app_on_the_default_builder_is_the_same_image_for_a_user(
    build_user: HostUser,
) -> None:
    """The report this guards: layers/ and layers/sbom/ of the SBOM and config layers owned by
    the user's uid. Both take the stack rootfs from root's cache of the CI run; a rootless
    mmdebstrap writes the same bytes (see the stack tests below)."""
    app = ("apps/hello:1", "--path", str(REPO / "samples/python-hello"))
    user_home = build_user.directory("pypack-u-")
    try:
        with shared_home("pypack-root-") as root_home:
            as_root = run_pypack(root_home, "build", *app)  # fills the cache on a fresh machine
        (user_home / "stack-cache").symlink_to(STACK_CACHE)
        as_user = run_pypack(user_home, "build", *app, user=build_user)
        assert built_digest(as_user.stdout) == built_digest(as_root.stdout)
        run = LayoutImageStore(Home(user_home).images).load(
            local_name("pypack/stacks/debian-bookworm-run:latest")
        )
        assert run is not None
        app_layers = layer_owners(user_home, "apps/hello:1", skip=len(run.diff_ids))
        for diff_id, owners in app_layers.items():
            assert owners <= CNB_OWNERS, f"layer {diff_id}: owners {owners}"
    finally:
        shutil.rmtree(user_home, ignore_errors=True)


def test_a_stack_build_without_subordinate_ids_names_the_fix(user_without_subids: HostUser) -> None:
    home = user_without_subids.directory("pypack-nosubid-")
    try:
        done = run_pypack(
            home, "stack", "build", "debian-bookworm", check=False, user=user_without_subids
        )
        assert done.returncode == 1
        (line,) = done.stderr.splitlines()
        name = user_without_subids.name
        assert line.startswith(
            "ERROR: stack io.pypack.stacks.debian-bookworm: mmdebstrap cannot build it as "
            f"{name} (uid {user_without_subids.uid}) without root: {name} has no range of 65536 "
            "subordinate ids in /etc/subuid and /etc/subgid (sudo usermod --add-subuids "
        )
        assert line.endswith(f" {name}, or run scripts/setup.sh)")
        assert not (home / "stack-cache").exists()  # nothing ran, nothing was left
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_a_stack_build_without_user_namespaces_names_the_fix(build_user: HostUser) -> None:
    """The build user inside a user namespace that allows no more of them (the limit set to 1
    one level up), as in a container without user namespaces: one line, before mmdebstrap."""
    home = build_user.directory("pypack-nouserns-")
    limit = (
        "echo 1 >/proc/sys/user/max_user_namespaces && "
        f'exec unshare --user --map-user={build_user.uid} --map-group={build_user.gid} "$@"'
    )
    cli = [sys.executable, "-c", "from pypack.pack.cli import main; main()"]
    argv = ["unshare", "--user", "--map-root-user", "sh", "-c", limit, "sh", *cli]
    try:
        done = subprocess.run(
            build_user.command([*argv, "stack", "build", "debian-bookworm"]),
            env=build_user.environment({**os.environ, "PYPACK_HOME": str(home)}),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        (line,) = done.stderr.splitlines()
        assert line == (
            "ERROR: stack io.pypack.stacks.debian-bookworm: mmdebstrap cannot build it as "
            f"{build_user.name} (uid {build_user.uid}) without root: this process may make no "
            "more user namespaces (unshare: unshare failed: No space left on device): raise "
            "user.max_user_namespaces here or in the namespace this runs in "
            "(sudo sysctl -w user.max_user_namespaces=15000)"
        )
        assert not (home / "stack-cache").exists()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_a_stack_build_without_uidmap_names_the_package(build_user: HostUser) -> None:
    """A PATH with mmdebstrap and the rest but no newuidmap/newgidmap, as before
    ``apt-get install uidmap``."""
    home = build_user.directory("pypack-nouidmap-")
    tools = home / "bin"
    tools.mkdir()
    for name in ("mmdebstrap", "unshare", "sh"):
        (tools / name).symlink_to(tool(name))
    cli = [sys.executable, "-c", "from pypack.pack.cli import main; main()"]
    env = build_user.environment({**os.environ, "PYPACK_HOME": str(home)})
    try:
        done = subprocess.run(
            build_user.command([*cli, "stack", "build", "debian-bookworm"]),
            env={**env, "PATH": str(tools)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr.splitlines() == [
            "ERROR: stack io.pypack.stacks.debian-bookworm: mmdebstrap cannot build it as "
            f"{build_user.name} (uid {build_user.uid}) without root: newuidmap/newgidmap are "
            "missing (sudo apt-get install uidmap)"
        ]
    finally:
        shutil.rmtree(home, ignore_errors=True)


def rootfs_owners(tar_path: Path) -> set[tuple[int, int]]:
    with tarfile.open(tar_path) as tar:
        return {(member.uid, member.gid) for member in tar}


def dpkg_status(tar_path: Path) -> bytes:
    """The package versions in a rootfs tar."""
    with tarfile.open(tar_path) as tar:
        status = tar.extractfile("./var/lib/dpkg/status")
        assert status is not None
        return status.read()


def assert_same_as_roots(
    ours: Path, definition: StackDefinition, which: str, user: HostUser
) -> None:
    """A rootfs tar made by ``user`` is root's (the run's cached one, made again when the
    mirror has moved on since: the same package versions must give the same bytes); its owners
    are the image's users (no host user, no subordinate id)."""
    roots = debian_rootfs(definition, which, STACK_CACHE)
    assert ours.name == roots.name  # the same recipe
    owners = rootfs_owners(ours)
    assert all(uid < 65536 and gid < 65536 for uid, gid in owners), owners
    assert user.uid not in {uid for uid, _ in owners}
    assert {(0, 0), (1000, 1000), (1001, 1000)} <= owners
    if dpkg_status(ours) != dpkg_status(roots):
        roots = debian_rootfs(definition, which, STACK_CACHE, refresh=True)
        assert dpkg_status(ours) == dpkg_status(roots), "the mirror changed during the test"
    assert ours.read_bytes() == roots.read_bytes(), f"{ours.name} differs from root's"


def test_a_user_makes_a_debian_rootfs_without_root(build_user: HostUser) -> None:
    """mmdebstrap --mode=unshare for one minbase rootfs with the CNB users (about 40 s; root's
    is made once per CI run)."""
    stack = DATA / "stacks" / "debian-minbase"
    definition = StackDefinition.load(str(stack))
    debian_rootfs(definition, "run", STACK_CACHE)  # root's, once per run
    cache = build_user.directory("pypack-rootless-")
    make = (
        "import sys; from pathlib import Path; "
        "from pypack.pack.stack_build import StackDefinition, debian_rootfs; "
        "say = lambda text: print(text, file=sys.stderr); "
        "print(debian_rootfs(StackDefinition.load(sys.argv[1]), 'run', Path(sys.argv[2]), "
        "say=say))"
    )
    argv = [sys.executable, "-c", make, str(stack), str(cache)]
    try:
        done = subprocess.run(
            build_user.command(argv),
            env=build_user.environment(dict(os.environ)),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert_same_as_roots(Path(done.stdout.strip()), definition, "run", build_user)
        # the phases of the creation are reported as mmdebstrap goes (issue 11)
        lines = done.stderr.splitlines()
        assert lines[0] == (
            f"Creating the run rootfs of {definition.id} with mmdebstrap "
            f"({definition.suite}, {len((definition.packages or {}).get('run', []))} packages)"
        )
        relayed = [line for line in lines if line.startswith("  [mmdebstrap] I: ")]
        assert len(relayed) >= 3, lines
        assert re.fullmatch(r"  run rootfs done in \d+ s", lines[-1]), lines[-1]
    finally:
        shutil.rmtree(cache, ignore_errors=True)


@pytest.mark.slow
def test_a_user_builds_the_default_debian_stack_without_root(build_user: HostUser) -> None:
    """``pypack stack build debian-bookworm`` unprivileged (about 2 min; 100 s as root, whose
    tarballs the CI run already has): the same rootfs bytes and the same images."""
    definition = StackDefinition.load("debian-bookworm")
    home = build_user.directory("pypack-rootless-")
    try:
        done = run_pypack(home, "stack", "build", "debian-bookworm", user=build_user, timeout=900)
        for which in ("build", "run"):
            ours = debian_rootfs(definition, which, home / "stack-cache")
            assert_same_as_roots(ours, definition, which, build_user)
        with shared_home("pypack-root-") as root_home:
            assert run_pypack(root_home, "stack", "build", "debian-bookworm").stdout == done.stdout
    finally:
        shutil.rmtree(home, ignore_errors=True)
