"""Progress output of long transfers (issue 11): plain lines when stderr is not a terminal, a
bar on a terminal (run through ``script``), nothing but the result with ``--quiet``."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from pypack.oci.image import Image
from pypack.oci.layers import write_layer_file
from pypack.oci.stores import RegistryImageStore
from tests.e2e.busybox_stack import Stack, stack
from tests.e2e.conftest import PYPACK, pypack_env

__all__ = ["stack"]

pytestmark = pytest.mark.e2e

LAYER = r"layer (\d+)/(\d+) sha256:[0-9a-f]{12} \(\d+(?:\.\d)? [kMG]?B\)"


def test_a_push_and_a_pull_are_plain_lines_in_a_log(
    stack: Stack, registry: str, busybox_base: Image, tmp_path: Path
) -> None:
    app = stack.app("progress-app", f"unique {uuid.uuid4()}")  # the registry outlives runs
    published = f"{registry}/test/progress:1"
    pushed = stack.pypack(
        "build", published, "--builder", "test/builder:1", "--path", str(app), "--publish"
    )
    lines = [line for line in pushed.stderr.splitlines() if line.startswith("Pushing ")]
    assert lines, pushed.stderr
    layers = [
        re.fullmatch(rf"Pushing {re.escape(registry)}/test/progress {LAYER}", line)
        for line in lines
    ]
    assert all(layers), lines
    numbers = [int(m.group(1)) for m in layers if m]
    assert numbers == sorted(set(numbers)), "one line per layer sent, in layer order"
    assert {m.group(2) for m in layers if m} == {layers[0].group(2) if layers[0] else ""}
    again = stack.pypack(
        "build", published, "--builder", "test/builder:1", "--path", str(app), "--publish"
    )
    assert "Pushing " not in again.stderr, "nothing new to send: no push lines"
    # a run image only in the registry, with a layer the local store lacks: the store pulls it
    run = f"{registry}/test/progress-run:1"
    image = busybox_base.copy()
    extra = tmp_path / "extra.tar.gz"
    info = write_layer_file(
        extra, lambda w: w.add_bytes("progress-run", uuid.uuid4().bytes), compress=True
    )
    image.add_layer(extra, info, created_by="a layer only the registry has")
    RegistryImageStore().save(image, [run])
    pulled = stack.pypack(
        "build", "test/progress-local:1", "--builder", "test/builder:1", "--path", str(app),
        "--run-image", run,
    )  # fmt: skip
    pulls = [line for line in pulled.stderr.splitlines() if line.startswith("Pulling ")]
    assert pulls, pulled.stderr
    for line in pulls:
        assert re.fullmatch(rf"Pulling {re.escape(registry)}/test/progress-run {LAYER}", line)


def test_a_terminal_gets_a_progress_bar(stack: Stack, registry: str) -> None:
    script = shutil.which("script")
    assert script, "util-linux script is installed by scripts/setup.sh"
    app = stack.app("progress-tty-app", f"tty {uuid.uuid4()}")
    command = (
        f"{PYPACK} build {registry}/test/progress-tty:1 --builder test/builder:1 "
        f"--path {app} --publish"
    )
    done = subprocess.run(
        [script, "-qec", command, "/dev/null"],
        capture_output=True, text=True, env=pypack_env(stack.home), check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
    assert f"Pushing {registry}/test/progress-tty\n" in done.stdout
    assert "━" in done.stdout, "rich draws the bar"
    assert re.search(r"\d+(\.\d)?/\d+(\.\d)? (bytes|[kMG]B)", done.stdout), "bytes sent of total"


def test_quiet_prints_only_the_result(stack: Stack, registry: str) -> None:
    app = stack.app("progress-quiet-app", "quiet")
    done = subprocess.run(
        [PYPACK, "--quiet", "build", f"{registry}/test/progress-quiet:1", "--builder",
         "test/builder:1", "--path", str(app), "--publish"],
        capture_output=True, text=True, env=pypack_env(stack.home), check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert re.fullmatch(
        rf"Successfully built image {re.escape(registry)}/test/progress-quiet:1 "
        r"\(sha256:[0-9a-f]{64}\)\n",
        done.stdout,
    )
