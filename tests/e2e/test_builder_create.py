"""``pypack builder create`` and ``pypack buildpack package`` end to end.

A builder over the bundled Debian 13 build image (Python 3.13) has a lifecycle that starts in
that image whatever Python runs pypack (CI runs it on Debian 12's 3.11): the lifecycle's
dependencies are wheels for 3.13, fetched once per interpreter; it builds an app with Tekton's
creator argv and through ``pypack build --docker``. Neither command leaves anything
in the temp directory or the pypack home besides what it was asked to make, whether it
succeeds, fails or is interrupted with Ctrl-C.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pypack import __version__
from pypack.oci.stores import LayoutImageStore
from pypack.pack.builder_create import NO_LIFECYCLE_LABEL
from pypack.pack.home import Home
from pypack.pack.images import local_name
from tests.e2e.conftest import (
    CNB_ID,
    PYPACK,
    creator_args,
    default_sigint,
    docker,
    lifecycle,
    pypack_env,
    run_cache,
    run_pypack,
    shared_home,
)

if TYPE_CHECKING:
    import docker as docker_sdk

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]
BUILDER = "pypack-test/trixie-builder:1"
BUILDER_TOML = """
description = "Procfile apps on Debian 13"
[[buildpacks]]
uri = "pypack:pypack/procfile"
[[order]]
[[order.group]]
id = "pypack/procfile"
[build]
image = "pypack/stacks/debian-trixie-build:latest"
[[run.images]]
image = "pypack/stacks/debian-trixie-run:latest"
"""


@dataclass
class Trixie:
    """A pypack home with the debian-trixie stack, and a builder.toml over it."""

    home: Path
    config: Path

    def create(self, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_pypack(
            self.home,
            "builder",
            "create",
            BUILDER,
            "--config",
            str(self.config),
            *extra,
            check=check,
        )


@pytest.fixture(scope="module")
def trixie(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trixie]:
    """The stack's rootfs tars are made by mmdebstrap once per CI run (the run's stack cache)."""
    with shared_home("pypack-trixie-") as home:
        run_pypack(home, "stack", "build", "debian-trixie", timeout=900)
        config = tmp_path_factory.mktemp("trixie") / "builder.toml"
        config.write_text(BUILDER_TOML)
        yield Trixie(home, config)


def test_debian_13_builder_runs_its_lifecycle_in_a_container(
    trixie: Trixie,
    docker_client: docker_sdk.DockerClient,
    volumes: dict[str, Path],
    registry: str,
    run_image: str,
) -> None:
    from pypack.oci.daemon import DaemonImageStore
    from pypack.spec.labels import BuilderMetadataLabel

    first = trixie.create()
    again = trixie.create()
    assert "Fetching" not in again.stderr  # the wheel set for cp313 is kept in the home
    assert again.stdout == first.stdout  # and the builder is the same image
    assert "Warning" not in first.stderr
    image = LayoutImageStore(Home(trixie.home).images).load(local_name(BUILDER))
    assert image is not None
    assert image.label(NO_LIFECYCLE_LABEL) is None
    label = image.label(BuilderMetadataLabel.label_name) or ""
    assert BuilderMetadataLabel.from_label(label).lifecycle.version == __version__
    DaemonImageStore(docker_client).save(image, [BUILDER])

    version = docker("run", "--rm", "--entrypoint", "/cnb/lifecycle/detector", BUILDER, "-version")
    assert version.stdout.strip() == __version__
    inside = docker(
        "run",
        "--rm",
        "--entrypoint",
        "/bin/sh",
        BUILDER,
        "-c",
        "head -1 /cnb/lifecycle/creator; ls /cnb/lifecycle/lib/pydantic_core",
    ).stdout.splitlines()
    assert inside[0] == "#!/usr/bin/python3.13"
    assert "_pydantic_core.cpython-313-x86_64-linux-gnu.so" in inside

    procfile = volumes["workspace"] / "Procfile"
    procfile.write_text("web: echo hello from a Debian 13 builder\n")
    os.chown(procfile, CNB_ID, CNB_ID)
    app = f"{registry}/e2e/trixie-app:1"
    output = lifecycle(BUILDER, volumes, "creator", *creator_args(app, run_image))
    assert "===> EXPORTING" in output
    docker("pull", app)
    ran = docker("run", "--rm", "--network", "none", app)
    assert ran.stdout == "hello from a Debian 13 builder\n"

    built = run_pypack(
        trixie.home, "build", "pypack-test/trixie-docker:1", "--docker", "--builder", BUILDER,
        "--path", str(volumes["workspace"]),
    )  # fmt: skip
    assert "[creator] ===> EXPORTING" in built.stdout
    ran = docker("run", "--rm", "--network", "none", "pypack-test/trixie-docker:1")
    assert ran.stdout == "hello from a Debian 13 builder\n"


STORE = re.compile(
    r"builds|images(/(\.pypack\.lock|oci-layout|index\.json|blobs(/sha256(/[0-9a-f]{64})?)?))?"
)
"""What saving an image may add to the home: the local store, and its finished blobs (and the
parent of work directories, empty again)."""


def entries(root: Path) -> set[str]:
    """Every path under ``root``, relative (symlinks are not followed)."""
    found = set()
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(directory, name), root))
    return found


@dataclass
class Watched:
    """What a command may leave: nothing in its temp directory; in the home only the image
    store and its blobs, when it saved an image; nothing unfinished in the shared wheel
    cache."""

    home: Path
    tmp: Path
    before: tuple[set[str], set[str]]

    @classmethod
    def start(cls, home: Path, tmp: Path) -> Watched:
        tmp.mkdir()
        return cls(home, tmp, (entries(home), entries(run_cache() / "lifecycle-wheels")))

    def env(self) -> dict[str, str]:
        return {"TMPDIR": str(self.tmp)}

    def new_in_home(self) -> set[str]:
        return entries(self.home) - self.before[0]

    def has_image(self, name: str) -> bool:
        return LayoutImageStore(Home(self.home).images).exists(local_name(name))

    def check(self, *, saved: bool) -> None:
        """``saved``: the command saved an image (new blobs are its output)."""
        assert sorted(entries(self.tmp)) == []
        new = self.new_in_home()
        if saved:
            assert all(STORE.fullmatch(path) for path in new), sorted(new)
        else:
            assert sorted(new) == []
        assert entries(run_cache() / "lifecycle-wheels") == self.before[1]


def interrupt(
    home: Path, watched: Watched, args: list[str], ready: Callable[[Path], bool]
) -> subprocess.CompletedProcess[str]:
    """Start ``pypack ARGS``, press Ctrl-C (SIGINT) once ``ready(its temp dir)`` holds, and
    wait for it to end."""
    process = subprocess.Popen(
        [PYPACK, *args],
        env=pypack_env(home, watched.env()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 300
    while not ready(watched.tmp):
        assert process.poll() is None, f"pypack ended before it was interrupted: {process.stderr}"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def work_file(prefix: str, name: str) -> Callable[[Path], bool]:
    """True once a work directory ``prefix*`` holds a file whose name starts with ``name``."""
    return lambda tmp: any(tmp.glob(f"{prefix}*/{name}*"))


def test_builder_create_leaves_nothing_behind(trixie: Trixie, tmp_path: Path) -> None:
    ok = Watched.start(trixie.home, tmp_path / "ok")
    run_pypack(
        trixie.home, "builder", "create", "pypack-test/left:1", "--config", str(trixie.config),
        env=ok.env(),
    )  # fmt: skip
    ok.check(saved=True)
    assert ok.has_image("pypack-test/left:1")

    bad_config = tmp_path / "bad-builder.toml"  # fails after every layer is written
    bad_config.write_text(BUILDER_TOML + '[[order]]\n[[order.group]]\nid = "not/here"\n')
    failed = Watched.start(trixie.home, tmp_path / "failed")
    result = run_pypack(
        trixie.home, "builder", "create", "pypack-test/bad:1", "--config", str(bad_config),
        env=failed.env(), check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"ERROR: {bad_config}: order: no versions of buildpack 'not/here' were found on the "
        "builder; add it to [[buildpacks]]"
    ]
    failed.check(saved=False)

    stopped = Watched.start(trixie.home, tmp_path / "stopped")
    args = ["builder", "create", "pypack-test/stopped:1", "--config", str(trixie.config)]
    builds = trixie.home / "builds"  # builder create works there, not in the temp directory
    result = interrupt(
        trixie.home, stopped, args, lambda _: any(builds.glob("pypack-builder-*/layer-1*"))
    )
    assert result.returncode != 0
    assert "Successfully" not in result.stdout
    stopped.check(saved=False)
    assert not stopped.has_image("pypack-test/stopped:1")


def test_buildpack_package_leaves_nothing_behind(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "package.toml").write_text('[buildpack]\nuri = "pypack:pypack/procfile"\n')
    package = ["buildpack", "package", "--config", str(tmp_path / "package.toml")]

    as_file = Watched.start(home, tmp_path / "file")
    run_pypack(home, *package[:2], str(tmp_path / "procfile.cnb"), *package[2:], "--format",
               "file", env=as_file.env())  # fmt: skip
    as_file.check(saved=False)
    assert sorted(p.name for p in tmp_path.glob("procfile.cnb*")) == ["procfile.cnb"]

    as_image = Watched.start(home, tmp_path / "image")
    run_pypack(home, *package[:2], "pypack-test/procfile:1", *package[2:], env=as_image.env())
    as_image.check(saved=True)
    assert as_image.has_image("pypack-test/procfile:1")

    for number, (config, output) in enumerate(
        [
            # fails after the SDK buildpack is staged and its layer written
            ('[buildpack]\nuri = "pypack:pypack/procfile"\n[[dependencies]]\nuri = "/not/here"\n',
             "pypack-test/bad:1"),
            # fails writing the .cnb
            ('[buildpack]\nuri = "pypack:pypack/procfile"\n', str(tmp_path / "no-dir" / "x.cnb")),
        ]
    ):  # fmt: skip
        (tmp_path / "bad.toml").write_text(config)
        failed = Watched.start(home, tmp_path / f"failed-{number}")
        extra = ["--format", "file"] if output.endswith(".cnb") else []
        result = run_pypack(
            home, "buildpack", "package", output, "--config", str(tmp_path / "bad.toml"), *extra,
            env=failed.env(), check=False,
        )  # fmt: skip
        assert result.returncode != 0
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        failed.check(saved=False)
    assert not (tmp_path / "no-dir").exists()

    big = tmp_path / "big-buildpack"  # big enough that packaging it takes a moment
    for name, text in (("detect", "#!/bin/sh\nexit 0\n"), ("build", "#!/bin/sh\nexit 0\n")):
        (big / "bin").mkdir(parents=True, exist_ok=True)
        (big / "bin" / name).write_text(text)
        (big / "bin" / name).chmod(0o755)
    (big / "buildpack.toml").write_text('api = "0.10"\n[buildpack]\nid = "t/big"\nversion = "1"\n')
    with open(big / "blob", "wb") as blob:
        blob.truncate(256 << 20)
    (tmp_path / "big.toml").write_text(f'[buildpack]\nuri = "{big}"\n')
    stopped = Watched.start(home, tmp_path / "stopped")
    args = ["buildpack", "package", "pypack-test/big:1", "--config", str(tmp_path / "big.toml")]
    result = interrupt(home, stopped, args, work_file("pypack-package-", "layer-"))
    assert result.returncode != 0
    stopped.check(saved=False)
    assert not stopped.has_image("pypack-test/big:1")
