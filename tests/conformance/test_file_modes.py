"""Files the phases write for other containers are 0644 in 0755 directories (issue 10 part 5).

The reference lifecycle writes analyzed.toml, group.toml, plan.toml, metadata.toml, report.toml,
restored ``<layer>.toml`` and ``store.toml`` with Go's ``os.Create`` and its directories with
``os.MkdirAll(…, 0777)``: 0666 and 0777 less the umask (022 in the containers Tekton, kpack and
pack start), owned by the uid the phase runs as. The Tekton catalog's ``buildpacks-phases`` task
reads report.toml in its ``results`` step as another uid, so a 0600 report.toml fails the task.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pypack.oci.image import Image
from tests.conformance.harness import CNB_GID, CNB_UID, Workspace
from tests.conformance.test_export import build, push_run_image

pytestmark = pytest.mark.integration

OTHER_UID = 2000

BUILD = """\
mkdir -p "$1/cached" && echo x > "$1/cached/file"
printf '[types]\\ncache = true\\nlaunch = true\\n[metadata]\\nk = "v"\\n' > "$1/cached.toml"
printf '[metadata]\\nruns = 1\\n' > "$1/store.toml"
"""
DETECT = 'printf \'[[provides]]\\nname = "x"\\n[[requires]]\\nname = "x"\\n\' >> "$2"'


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def modes(paths: list[Path]) -> dict[str, tuple[int, int, str]]:
    found = {}
    for path in paths:
        info = path.stat()
        found[path.name] = (info.st_uid, info.st_gid, oct(stat.S_IMODE(info.st_mode)))
    return found


def read_as_other_uid(path: Path) -> subprocess.CompletedProcess[str]:
    setpriv = shutil.which("setpriv") or "setpriv"
    argv = [setpriv, f"--reuid={OTHER_UID}", f"--regid={OTHER_UID}", "--clear-groups"]
    return subprocess.run(
        [*argv, "cat", str(path)], capture_output=True, text=True, check=False, timeout=30
    )


def test_phase_outputs_are_0644_and_readable_by_another_uid(
    ws: Workspace, registry: str, busybox_base: Image, umask_022: None
) -> None:
    run = push_run_image(registry, busybox_base, "modes:1")
    ws.buildpack("a", detect=DETECT, build=BUILD)
    ws.order([[("a", "1.0.0", False)]])
    cache = ws.root / "home" / "cache"
    app = f"{registry}/conformance/modes-app:1"
    build(ws, registry, run, app, "-cache-dir", str(cache))
    # build 2 up to the restorer, which writes <layer>.toml and store.toml itself
    shutil.rmtree(ws.layers / "a")
    assert ws.run("analyzer", "-run-image", run, app).code == 0
    assert ws.run("detector").code == 0
    restored = ws.run("restorer", "-cache-dir", str(cache))
    assert restored.code == 0, restored.text

    layers = ws.layers
    files = [
        layers / "analyzed.toml",
        layers / "group.toml",
        layers / "plan.toml",
        layers / "config" / "metadata.toml",
        layers / "report.toml",
        layers / "a" / "cached.toml",
        layers / "a" / "store.toml",
    ]
    cnb = (CNB_UID, CNB_GID)
    assert modes(files) == {path.name: (*cnb, "0o644") for path in files}
    directories = [layers / "config", layers / "a"]
    assert modes(directories) == {path.name: (*cnb, "0o755") for path in directories}

    for path in files:
        seen = read_as_other_uid(path)
        assert seen.returncode == 0, f"uid {OTHER_UID} cannot read {path}: {seen.stderr}"
    assert "digest = " in read_as_other_uid(layers / "report.toml").stdout


def test_root_phases_leave_their_files_to_the_cnb_user(
    ws: Workspace, registry: str, busybox_base: Image, umask_022: None
) -> None:
    """As in the Tekton buildpacks-phases task: analyzer, restorer and exporter start as root
    and, like the reference (``priv.EnsureOwner`` then ``priv.RunAs``), write as the CNB user."""
    run = push_run_image(registry, busybox_base, "modes-root:1")
    ws.buildpack("a", detect=DETECT, build=BUILD)
    ws.order([[("a", "1.0.0", False)]])
    app = f"{registry}/conformance/modes-root-app:1"
    cnb_env = {"CNB_USER_ID": str(CNB_UID), "CNB_GROUP_ID": str(CNB_GID)}
    steps = [
        ("analyzer", ["-run-image", run, app], True),
        ("detector", [], False),
        ("restorer", [], True),
        ("builder", [], False),
        ("exporter", [app], True),
    ]
    for phase, flags, as_root in steps:
        result = ws.run(phase, *flags, env=cnb_env, as_root=as_root)
        assert result.code == 0, f"{phase}: {result.text}"
    files = [ws.layers / name for name in ("analyzed.toml", "group.toml", "report.toml")]
    cnb = (CNB_UID, CNB_GID)
    assert modes(files) == {path.name: (*cnb, "0o644") for path in files}
    assert read_as_other_uid(ws.layers / "report.toml").returncode == 0
