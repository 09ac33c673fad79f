"""Conformance cases 30-33 (launch): the sh launcher gives the same results under dash,
busybox sh and bash."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from pypack.lifecycle.launch_data import launch_data, launcher_script
from pypack.spec.group_toml import GroupElement
from pypack.spec.metadata_toml import BuildMetadata, Process

SHELLS = {
    "dash": ["dash"],
    "busybox": ["busybox", "sh"],
    "bash": ["bash"],
}


@dataclass
class Image:
    """A fake app image root: /cnb, /layers and /workspace under a temp dir."""

    root: Path
    shell: list[str]

    @property
    def layers(self) -> Path:
        return self.root / "layers"

    @property
    def app(self) -> Path:
        return self.root / "workspace"

    def layer(self, bp: str, name: str) -> Path:
        path = self.layers / bp / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write(self, path: Path, text: str, mode: int = 0o644) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)

    def metadata(self, *processes: Process, default: str | None = None, api: str = "0.12") -> None:
        metadata = BuildMetadata(
            buildpacks=[GroupElement.model_validate({"id": "bp/a", "version": "1", "api": api})],
            processes=list(processes),
            buildpack_default_process_type=default,
        )
        config = self.layers / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "launch.sh").write_text(launch_data(metadata))
        lifecycle = self.root / "cnb" / "lifecycle"
        lifecycle.mkdir(parents=True, exist_ok=True)
        (lifecycle / "launcher").write_bytes(launcher_script())
        (lifecycle / "launcher").chmod(0o755)
        process_dir = self.root / "cnb" / "process"
        process_dir.mkdir(parents=True, exist_ok=True)
        for process in processes:
            link = process_dir / process.type
            if not link.exists():
                link.symlink_to(lifecycle / "launcher")

    def run(
        self, entry: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        program = (
            self.root
            / "cnb"
            / ("lifecycle/launcher" if entry == "launcher" else f"process/{entry}")
        )
        environment = {
            "PATH": "/cnb/process:/cnb/lifecycle:/usr/local/bin:/usr/bin:/bin",
            "CNB_LAYERS_DIR": str(self.layers),
            "CNB_APP_DIR": str(self.app),
            "CNB_PLATFORM_API": "0.15",
            "CNB_DEPRECATION_MODE": "quiet",
            **(env or {}),
        }
        return subprocess.run(
            [*self.shell, str(program), *args], capture_output=True, text=True, env=environment,
            check=False, timeout=30,
        )  # fmt: skip


@pytest.fixture(params=sorted(SHELLS))
def image(request: pytest.FixtureRequest, tmp_path: Path) -> Image:
    shell = SHELLS[request.param]
    if shutil.which(shell[0]) is None:
        pytest.fail(f"{shell[0]} is not installed; run scripts/setup.sh")
    root = tmp_path / "image"
    (root / "workspace").mkdir(parents=True)
    return Image(root, shell)


def argv_printer(image: Image) -> None:
    """A ``node`` on the layer's PATH that prints its argv one per line."""
    image.write(
        image.layer("bp_a", "runtime") / "bin" / "node",
        '#!/bin/sh\nprintf "%s\\n" "node" "$@"\n',
        0o755,
    )


def web(**fields: object) -> Process:
    base: dict[str, object] = {
        "type": "web",
        "command": ["node", "server.js"],
        "args": ["--port", "8080"],
        "direct": True,
        "buildpack_id": "bp/a",
    }
    return Process.model_validate({**base, **fields})


def test_case_30_args_override(image: Image) -> None:
    argv_printer(image)
    image.metadata(web(), default="web")
    assert image.run("web").stdout.split() == ["node", "server.js", "--port", "8080"]
    assert image.run("web", "--port", "9").stdout.split() == ["node", "server.js", "--port", "9"]
    image.metadata(web(command=["node"], args=["server.js"]), default="web", api="0.8")
    assert image.run("web", "--debug").stdout.split() == ["node", "server.js", "--debug"]
    image.metadata(web(command=["node"], args=["server.js"]), default="web", api="0.9")
    assert image.run("web", "other.js").stdout.split() == ["node", "other.js"]
    assert image.run("web", "it's quoted").stdout.splitlines() == ["node", "it's quoted"]


def test_case_31_direct_and_shell_user_commands(image: Image) -> None:
    argv_printer(image)
    image.write(
        image.layer("bp_a", "runtime") / "profile.d" / "set-foo.sh", "export FOO=from-profile\n"
    )
    image.write(image.app / ".profile", "export BAR=from-dot-profile\n")
    image.metadata(web(), default="web")
    direct = image.run("launcher", "--", "env")
    assert direct.returncode == 0, direct.stderr
    env = dict(line.split("=", 1) for line in direct.stdout.splitlines() if "=" in line)
    assert "CNB_LAYERS_DIR" not in env
    assert "CNB_APP_DIR" not in env
    assert env["CNB_PLATFORM_API"] == "0.15"  # kept, as the reference launcher keeps it
    assert "FOO" not in env  # no profile.d for a direct command
    assert "/cnb/process" not in env["PATH"]
    assert "/cnb/lifecycle" not in env["PATH"]
    assert env["PATH"].startswith(str(image.layers / "bp_a" / "runtime" / "bin"))
    shell = image.run("launcher", "echo $FOO $BAR")
    assert (shell.returncode, shell.stdout) == (0, "from-profile from-dot-profile\n")
    tokens = image.run("launcher", "echo", "$FOO", "two words")
    assert tokens.stdout == "from-profile two words\n"


def env_of(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def test_case_32_exec_d_and_process_env(image: Image) -> None:
    argv_printer(image)
    layer = image.layer("bp_a", "runtime")
    image.write(
        layer / "exec.d" / "x", '#!/bin/sh\necho "X = \\"1\\"" >&3\necho log-from-exec-d\n', 0o755
    )
    image.write(
        layer / "exec.d" / "web" / "x",
        '#!/bin/sh\nprintf \'X = "2"\\nQ = "a \\\\"q\\\\" b"\\n\' >&3\n',
        0o755,
    )
    image.write(layer / "env.launch" / "web" / "Y", "only-web")
    image.write(layer / "env.launch" / "Z.default", "z")
    worker = Process.model_validate(
        {"type": "worker", "command": ["env"], "direct": True, "buildpack_id": "bp/a"}
    )
    image.metadata(web(command=["env"], args=[]), worker, default="web")
    web_env = env_of(image.run("web").stdout)
    worker_run = image.run("worker")
    worker_env = env_of(worker_run.stdout)
    assert (web_env["X"], worker_env["X"]) == ("2", "1")
    assert web_env["Q"] == 'a "q" b'
    assert web_env["Y"] == "only-web"
    assert "Y" not in worker_env
    assert web_env["Z"] == worker_env["Z"] == "z"
    assert "log-from-exec-d" in worker_run.stdout
    image.write(layer / "exec.d" / "fail", "#!/bin/sh\nexit 3\n", 0o755)
    failed = image.run("worker")
    assert failed.returncode == 82
    assert "failed with status 3" in failed.stderr


def test_case_33_working_dir_and_exec_env(image: Image) -> None:
    (image.app / "sub").mkdir()
    layer = image.layer("bp_a", "runtime")
    image.write(
        layer / "exec.d" / "where", '#!/bin/sh\necho "EXEC_D_PWD = \\"$(pwd)\\"" >&3\n', 0o755
    )
    pwd = web(
        command=["sh", "-c", "pwd; echo $EXEC_D_PWD"], args=[], working_dir=str(image.app / "sub")
    )
    only_test = web(type="tests", command=["true"], args=[], exec_env=["test"])
    image.metadata(pwd, only_test, default="web")
    assert image.run("web").stdout.splitlines() == [str(image.app / "sub"), str(image.app)]
    refused = image.run("tests")
    assert refused.returncode == 82
    assert "process type tests was not found" in refused.stderr
    assert image.run("tests", env={"CNB_EXEC_ENV": "test"}).returncode == 0


def test_launcher_exit_codes(image: Image) -> None:
    image.metadata(web(), default="web")
    assert image.run("launcher").returncode == 82
    assert image.run("launcher", "--", "sh", "-c", "exit 7").returncode == 7  # the process's own
    assert image.run("launcher", "--", "no-such-program").returncode == 82
    assert image.run("web", env={"CNB_PLATFORM_API": "0.3"}).returncode == 11
    image.metadata(web(command=[]), default="web")  # lc: launcher.go, "no command provided"
    empty = image.run("web")
    assert (empty.returncode, empty.stderr) == (
        82,
        'ERROR: failed to launch: no command provided for process type "web"\n',
    )
    os.remove(image.layers / "config" / "launch.sh")
    assert image.run("web").returncode == 1
