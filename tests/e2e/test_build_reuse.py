"""Whole-build reuse: a build whose inputs are all as they were is skipped and reports the same
image; each input changed alone makes a real build, and nothing else does."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pypack.oci.stores import LayoutImageStore
from pypack.pack.home import Home
from pypack.pack.images import local_name
from tests.conftest import tool
from tests.e2e.busybox_stack import BUILD_SCRIPT, Stack, stack, write_buildpack
from tests.e2e.conftest import docker

__all__ = ["stack"]

pytestmark = pytest.mark.e2e

UP_TO_DATE = "is up to date: nothing it is built from changed"
DIGEST = re.compile(r"Successfully built image \S+ \((sha256:[0-9a-f]{64})\)")


def built(stack: Stack, *args: str) -> tuple[bool, str]:
    """Build ``reuse/app:1`` from ``args``; (whether it was reused, the digest printed)."""
    done = stack.pypack("build", "reuse/app:1", "--builder", "test/builder:1", *args)
    match = DIGEST.search(done.stdout)
    assert match is not None, done.stdout + done.stderr
    reused = UP_TO_DATE in done.stderr
    assert reused != ("===> DETECTING" in done.stdout), done.stdout + done.stderr
    return reused, match.group(1)


def test_an_unchanged_build_is_skipped_with_the_same_digest_and_report(
    stack: Stack, tmp_path: Path
) -> None:
    app = stack.app("same-app")
    reused, first = built(stack, "--path", str(app), "--report-output-dir", str(tmp_path / "a"))
    assert not reused
    reused, second = built(stack, "--path", str(app), "--report-output-dir", str(tmp_path / "b"))
    assert reused
    assert second == first
    report = (tmp_path / "b" / "report.toml").read_text()
    assert report == (tmp_path / "a" / "report.toml").read_text()
    assert first in report
    assert stack.pypack("run", "reuse/app:1").stdout == "hello: world\n"
    # touched, not changed: the content is hashed again and found equal
    os.utime(app / "hello.txt", ns=(1, 1))
    assert built(stack, "--path", str(app)) == (True, first)
    # forced
    assert built(stack, "--path", str(app), "--no-reuse")[0] is False
    assert built(stack, "--path", str(app), "--clear-cache")[0] is False
    assert built(stack, "--path", str(app), "--creation-time", "now")[0] is False


def _edit(path: Path, text: str) -> None:
    path.write_text(text)


def test_each_input_changed_alone_builds_and_nothing_else_does(stack: Stack) -> None:
    app = stack.app("inputs-app")
    tmp_path = stack.root / "inputs"  # the build user must reach the volume
    tmp_path.mkdir()
    (app / ".gitignore").write_text("*.log\n")
    env_file = tmp_path / "build.env"
    env_file.write_text("GREETING=hi\n")
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "data").write_text("1")
    buildpack = write_buildpack(tmp_path / "bps", "test/extra", "#!/bin/sh\necho extra\n")
    args = ["--path", str(app), "--env-file", str(env_file), "--volume", f"{volume}:/data:ro"]
    assert built(stack, *args)[0] is False
    changes: list[tuple[str, Callable[[], None], list[str]]] = [
        ("source content", lambda: _edit(app / "hello.txt", "other"), []),
        ("same size, same mtime", lambda: _same_stat_edit(app / "hello.txt", "OTHER"), []),
        ("a new file", lambda: _edit(app / "new.py", "x = 1\n"), []),
        ("a removed file", lambda: (app / "new.py").unlink(), []),
        ("a mode", lambda: (app / "hello.txt").chmod(0o755), []),
        ("an empty directory", lambda: (app / "empty").mkdir(), []),
        ("a symlink", lambda: (app / "link").symlink_to("hello.txt"), []),
        ("env file content", lambda: _edit(env_file, "GREETING=hello\n"), []),
        ("an --env", lambda: None, ["--env", "EXTRA=1"]),
        ("project.toml", lambda: _edit(app / "project.toml", "[_]\nschema-version = '0.2'\n"), []),
        ("volume content", lambda: _edit(volume / "data", "2"), []),
        ("a tag", lambda: None, ["--tag", "reuse/app:2"]),
        ("the default process", lambda: None, ["--default-process", "web"]),
        ("a creation time", lambda: None, ["--creation-time", "1700000000"]),
        ("config.toml", lambda: _edit(Path(stack.home) / "config.toml", "# a comment\n"), []),
        ("an added buildpack", lambda: None, ["-b", "test/hello", "-b", str(buildpack)]),
        ("its content", lambda: _edit(buildpack / "bin" / "build", "#!/bin/sh\necho two\n"), []),
    ]
    for what, change, extra in changes:
        change()
        args += extra
        reused, digest = built(stack, *args)
        assert not reused, f"{what} changed, and the build was skipped"
        assert built(stack, *args) == (True, digest), f"a second build after {what}"
    # an ignored file, and a file's times: no build
    _edit(app / "debug.log", "noise")
    os.utime(app / "hello.txt", ns=(10**18, 10**18))
    assert built(stack, *args)[0] is True


def _same_stat_edit(path: Path, text: str) -> None:
    """New content of the same size with the old times put back: only ctime tells."""
    info = path.stat()
    assert len(text) == info.st_size
    path.write_text(text)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_a_changed_builder_or_run_image_or_a_deleted_image_builds(
    stack: Stack, busybox_base: object
) -> None:
    app = stack.app("images-app")
    assert built(stack, "--path", str(app))[0] is False
    store = LayoutImageStore(Home(Path(stack.home)).images)
    # the image deleted from the store
    assert store.layout.untag(local_name("reuse/app:1"))
    assert built(stack, "--path", str(app))[0] is False
    # the run image replaced under the same name
    run = store.load(local_name("example.com/stacks/run:1"))
    assert run is not None
    run.set_label("changed", "yes")
    store.save(run, [local_name("example.com/stacks/run:1")])
    assert built(stack, "--path", str(app))[0] is False
    assert built(stack, "--path", str(app))[0] is True
    # the builder remade from other buildpacks
    write_buildpack(stack.root / "remade", "test/hello", BUILD_SCRIPT + "echo remade\n")
    config = (stack.root / "builder.toml").read_text()
    (stack.root / "remade.toml").write_text(
        config.replace("buildpacks/test_hello", "remade/test_hello")
    )
    stack.pypack("builder", "create", "test/builder:1", "--config", str(stack.root / "remade.toml"))
    assert built(stack, "--path", str(app))[0] is False
    assert built(stack, "--path", str(app))[0] is True


def test_a_builder_labelled_out_of_reuse_always_builds(stack: Stack) -> None:
    store = LayoutImageStore(Home(Path(stack.home)).images)
    builder = store.load(local_name("test/builder:1"))
    assert builder is not None
    builder.set_label("io.pypack.reuse", "false")
    store.save(builder, [local_name("test/no-reuse-builder:1")])
    app = stack.app("opted-out-app")
    for _ in range(2):
        done = stack.pypack(
            "build", "reuse/opted:1", "--builder", "test/no-reuse-builder:1", "--path", str(app)
        )
        assert "===> DETECTING" in done.stdout
        assert UP_TO_DATE not in done.stderr


def test_layout_registry_and_daemon_targets_are_reused_while_the_image_is_there(
    stack: Stack, registry: str, docker_client: object, tmp_path: Path
) -> None:
    app = stack.app("targets-app")
    layout = f"oci:{tmp_path / 'layout'}:v1"
    published = f"{registry}/reuse/published:1"
    targets: list[tuple[str, list[str], str | None]] = [
        (layout, [], layout),
        (published, ["--publish"], f"docker://{published}"),
        ("reuse/daemon:1", ["--daemon"], None),
    ]
    for image, flags, where in targets:
        common = [image, "--builder", "test/builder:1", "--path", str(app), *flags]
        first = stack.pypack("build", *common, "--insecure-registry", registry)
        again = stack.pypack("build", *common, "--insecure-registry", registry)
        assert UP_TO_DATE not in first.stderr
        assert UP_TO_DATE in again.stderr
        digest = DIGEST.search(first.stdout)
        assert digest is not None
        assert digest.group(1) in again.stdout
        if where is None:  # the daemon: gone from it, built again
            docker("rmi", "-f", image)
            rebuilt = stack.pypack("build", *common)
            assert UP_TO_DATE not in rebuilt.stderr
            continue
        inspected = subprocess.run(
            [tool("skopeo"), "inspect", "--tls-verify=false", where],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert json.loads(inspected.stdout)["Digest"] == digest.group(1)
    # the layout's tag removed by another tool: built again
    index_path = tmp_path / "layout" / "index.json"
    index = json.loads(index_path.read_text())
    index["manifests"] = []
    index_path.write_text(json.dumps(index))
    again = stack.pypack("build", layout, "--builder", "test/builder:1", "--path", str(app))
    assert UP_TO_DATE not in again.stderr
