"""What ``pypack run`` starts: the image's process, another one, or a command given after --."""

from __future__ import annotations

from pathlib import Path

from pypack.pack.run_command import _command


def _cnb_rootfs(tmp_path: Path) -> Path:
    launcher = tmp_path / "cnb" / "lifecycle" / "launcher"
    launcher.parent.mkdir(parents=True)
    launcher.write_text("#!/bin/sh\n")
    return tmp_path


def test_without_arguments_the_image_runs_as_docker_run_would(tmp_path: Path) -> None:
    rootfs = _cnb_rootfs(tmp_path)
    assert _command(["/cnb/process/web"], [], None, [], rootfs) == ["/cnb/process/web"]
    assert _command(["/bin/app"], ["--serve"], None, [], tmp_path) == ["/bin/app", "--serve"]


def test_a_command_replaces_the_process_through_the_launcher(tmp_path: Path) -> None:
    rootfs = _cnb_rootfs(tmp_path)
    given = ["uvicorn", "main:app", "--port", "8000"]
    assert _command(["/cnb/process/web"], [], None, given, rootfs) == [
        "/cnb/lifecycle/launcher",
        *given,
    ]


def test_arguments_go_to_the_chosen_process(tmp_path: Path) -> None:
    rootfs = _cnb_rootfs(tmp_path)
    assert _command(["/cnb/process/web"], [], "worker", ["-v"], rootfs) == [
        "/cnb/process/worker",
        "-v",
    ]


def test_an_image_without_a_launcher_keeps_its_entrypoint(tmp_path: Path) -> None:
    assert _command(["/bin/tool"], ["default"], None, ["other"], tmp_path) == [
        "/bin/tool",
        "other",
    ]
