"""The reference lifecycle's launcher acceptance tests (``acceptance/launcher_test.go``),
translated: each Go ``it`` starts the launcher of an app image; here the image is a directory
whose ``cnb``, ``layers`` and ``workspace`` stand in for the image's ``/cnb``, ``/layers`` and
``/workspace`` (``CNB_LAYERS_DIR`` and ``CNB_APP_DIR`` name them, as the image's defaults),
with the image's ``PATH`` (``/cnb/process:/cnb/lifecycle:...``). A Docker ``--entrypoint`` is
the program it names, run by its path in ``cnb/``; output is stdout and stderr combined.

The image's ``config/metadata.toml`` is written here from the Go fixture's processes and
buildpacks, and ``config/launch.sh`` (what pypack's launcher reads) from it, as the exporter
writes both. The exec.d helper, a Go program in the reference, is an sh script doing the same.

Not translated: none.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pypack.lifecycle.launch_data import launch_data, launcher_script
from pypack.spec.metadata_toml import BuildMetadata

LATEST = "0.15"
PROFILES = "sourced bp profile\nsourced app profile\n"
IMAGE_PATH = (
    "/cnb/process:/cnb/lifecycle:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)
PROCESS_TYPES = (
    "direct-process",
    "indirect-process-with-args",
    "indirect-process-with-script",
    "legacy-indirect-process-with-args",
    "legacy-indirect-process-with-incorrect-args",
    "process.with.period",
    "profile-checker",
    "web",
    "worker",
    "exec.d-checker",
)

METADATA = """
[[buildpacks]]
id = "0.9/buildpack"
version = "0.0.1"
api = "0.9"

[[buildpacks]]
id = "0.8/buildpack"
version = "0.0.1"
api = "0.8"

[[buildpacks]]
id = "0.7/buildpack"
version = "0.0.1"
api = "0.7"

[[processes]]
type = "web"
command = "echo"
args = ["Executing web process-type"]
buildpack-id = "0.8/buildpack"

[[processes]]
type = "direct-process"
command = "echo"
args = ["Executing direct-process process-type"]
direct = true
buildpack-id = "0.8/buildpack"

[[processes]]
type = "indirect-process-with-args"
command = "printf"
args = ["'%s' '%s'", "$VAR1", "$VAR2"]
buildpack-id = "0.8/buildpack"

[[processes]]
type = "legacy-indirect-process-with-args"
command = "printf \\"'%s' '%s'\\" \\"$0\\" \\"$1\\""
args = ["arg", "arg with spaces"]
buildpack-id = "0.7/buildpack"

[[processes]]
type = "legacy-indirect-process-with-incorrect-args"
command = "printf"
args = ["'%s' '%s'", "arg", "arg with spaces"]
buildpack-id = "0.7/buildpack"

[[processes]]
type = "indirect-process-with-script"
command = "printf \\"'%s' '%s'\\" \\"$VAR1\\" \\"$VAR2\\""
buildpack-id = "0.8/buildpack"

[[processes]]
type = "profile-checker"
command = "echo"
args = ["$VAR_FROM_PROFILE"]
buildpack-id = "0.8/buildpack"

[[processes]]
type = "exec.d-checker"
command = "printf"
args = ['VAR_FROM_EXEC_D: "%s"', "$VAR_FROM_EXEC_D"]
buildpack-id = "0.9/buildpack"

[[processes]]
type = "worker"
command = "echo"
args = ["$WORKER_VAR"]
buildpack-id = "0.8/buildpack"

[[processes]]
type = "process.with.period"
command = "echo"
args = ["Executing process.with.period process-type"]
buildpack-id = "0.8/buildpack"
"""

# What the reference's Go exec.d helper does: say where it runs, then write one variable to
# fd 3, its value suffixed by the process type when it lives in exec.d/<type>/.
EXEC_D_HELPER = """#!/bin/sh
echo "$0 was executed"
echo "Exec.d Working Dir: $(pwd)"
parent=$(basename "$(dirname "$0")")
value=val-from-exec.d
[ "$parent" = exec.d ] || value="val-from-exec.d-for-process-type-$parent"
[ -z "$VAR_FROM_EXEC_D" ] || value="$VAR_FROM_EXEC_D:$value"
printf 'VAR_FROM_EXEC_D = "%s"' "$value" >&3
"""


class LaunchImage:
    """The Go test's launcher image, as a directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.layers = root / "layers"
        self.app = root / "workspace"
        self.exec_d = self.layers / "0.9_buildpack" / "some_layer" / "exec.d"

    def write(self, relative: str, text: str, mode: int = 0o644) -> Path:
        """Write ``text`` to the image file ``relative`` (to the image root)."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
        return path

    def build(self) -> None:
        """Lay the image out: launcher, process links, metadata, layers, app."""
        launcher = self.root / "cnb" / "lifecycle" / "launcher"
        launcher.parent.mkdir(parents=True)
        launcher.write_bytes(launcher_script())
        launcher.chmod(0o755)
        (self.root / "cnb" / "process").mkdir()
        for process_type in PROCESS_TYPES:
            (self.root / "cnb" / "process" / process_type).symlink_to("../lifecycle/launcher")
        metadata = self.write("layers/config/metadata.toml", METADATA)
        self.write("layers/config/launch.sh", launch_data(BuildMetadata.load(metadata)))
        layer = "layers/0.8_buildpack/some_layer"
        self.write(f"{layer}/bin/bp-executable", '#!/bin/sh\necho "bp executable"\n', 0o755)
        self.write(f"{layer}/env.launch/OTHER_VAR.append", "other-bp-val")
        self.write(f"{layer}/env.launch/OTHER_VAR.delim", "**")
        self.write(f"{layer}/env.launch/worker/WORKER_VAR", "worker-process-val\n")
        self.write(f"{layer}/env/SOME_VAR", "some-bp-val")
        self.write(f"{layer}/env/WORKER_VAR", "worker-no-process-val\n")
        self.write(f"{layer}/profile.d/0_bp_profile.sh", 'echo "sourced bp profile"\n')
        self.write(
            f"{layer}/profile.d/profile-checker/0_bp_profile_checker.sh",
            'echo "sourced bp profile-checker profile"\n',
        )
        self.write("layers/0.9_buildpack/some_layer/exec.d/helper", EXEC_D_HELPER, 0o755)
        self.write(
            "layers/0.9_buildpack/some_layer/exec.d/exec.d-checker/helper", EXEC_D_HELPER, 0o755
        )
        self.write(
            "workspace/.profile",
            'export VAR_FROM_PROFILE=val-from-profile\n\necho "sourced app profile"\n',
        )

    def run(
        self, entrypoint: str, *args: str, api: str = LATEST, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``docker run --entrypoint=<entrypoint> --env=CNB_PLATFORM_API=<api> image args``;
        ``entrypoint`` is a process type or ``launcher``."""
        program = (
            self.root / "cnb" / "lifecycle" / "launcher"
            if entrypoint == "launcher"
            else self.root / "cnb" / "process" / entrypoint
        )
        environment = {
            "PATH": IMAGE_PATH,
            "HOME": "/root",
            "CNB_LAYERS_DIR": str(self.layers),
            "CNB_APP_DIR": str(self.app),
            "CNB_PLATFORM_API": api,
            **env,
        }
        return subprocess.run(
            [str(program), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=environment, check=False, timeout=60,
        )  # fmt: skip


@pytest.fixture
def image(tmp_path: Path) -> LaunchImage:
    """A fresh launcher image."""
    built = LaunchImage(tmp_path / "image")
    built.build()
    return built


def assert_output(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    """As the Go test's assertOutput: the run succeeds and its output has every string."""
    assert done.returncode == 0, done.stdout
    for text in expected:
        assert text in done.stdout


def test_exec_d_runs_and_changes_the_env_before_the_profiles(image: LaunchImage) -> None:
    """acceptance/launcher_test.go:41 "exec.d / executes the binaries and modifies env before
    running profiles"."""
    done = image.run("exec.d-checker", api="0.7", VAR_FROM_EXEC_D="orig-val")
    assert_output(
        done,
        f"{image.exec_d}/helper was executed\n"
        f"Exec.d Working Dir: {image.app}\n"
        f"{image.exec_d}/exec.d-checker/helper was executed\n"
        f"Exec.d Working Dir: {image.app}\n"
        "sourced bp profile\n"
        "sourced app profile\n"
        "VAR_FROM_EXEC_D: orig-val:val-from-exec.d:val-from-exec.d-for-process-type-exec.d-checker",
    )


@pytest.mark.parametrize(
    ("entrypoint", "args", "expected"),
    [
        pytest.param("web", (), "Executing web process-type", id="launcher_test.go:66"),
        pytest.param(
            "process.with.period",
            (),
            "Executing process.with.period process-type",
            id="launcher_test.go:75",
        ),
        pytest.param(
            "web",
            ("with user provided args",),
            "Executing web process-type with user provided args",
            id="launcher_test.go:84",
        ),
    ],
)
def test_entrypoint_that_is_a_process_launches_it(
    image: LaunchImage, entrypoint: str, args: tuple[str, ...], expected: str
) -> None:
    """acceptance/launcher_test.go:66 "entrypoint is a process / launches that process", :75
    "process contains a period / launches that process" and :84 "appends any args to the process
    args"."""
    assert_output(image.run(entrypoint, *args), expected)


def test_entrypoint_that_is_no_process_builds_one_from_the_arguments(image: LaunchImage) -> None:
    """acceptance/launcher_test.go:96 "entrypoint is a not a process / builds a process from the
    arguments"."""
    done = image.run("launcher", "--", "env")
    assert_output(done, "SOME_VAR=some-bp-val", "OTHER_VAR=other-bp-val")


def test_cnb_process_type_warns_and_needs_a_command(image: LaunchImage) -> None:
    """acceptance/launcher_test.go:113 "CNB_PROCESS_TYPE is set / should warn"."""
    done = image.run("launcher", CNB_PROCESS_TYPE="direct-process", CNB_NO_COLOR="true")
    assert done.returncode != 0
    assert f"Warning: CNB_PROCESS_TYPE is not supported in Platform API {LATEST}" in done.stdout
    assert (
        "Warning: Run with ENTRYPOINT 'direct-process' to invoke the 'direct-process' process type"
    ) in done.stdout
    assert (
        "ERROR: failed to launch: determine start command: when there is no default process a "
        "command is required"
    ) in done.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ("echo", "something"),
            f"{PROFILES}something",
            id="launcher_test.go:129 sources profiles and executes the command in a shell",
        ),
        pytest.param(
            ("echo", "$SOME_VAR", "$OTHER_VAR", "$WORKER_VAR"),
            f"{PROFILES}some-bp-val other-bp-val worker-no-process-val",
            id="launcher_test.go:139 sets env vars from layers",
        ),
        pytest.param(
            ("bp-executable",),
            "bp executable",
            id="launcher_test.go:167 adds buildpack bin dirs to the path",
        ),
    ],
)
def test_command_that_is_no_process_type_runs_in_a_shell(
    image: LaunchImage, args: tuple[str, ...], expected: str
) -> None:
    """acceptance/launcher_test.go:129, :139 and :167 "provided CMD is not a process-type": profiles
    are sourced, layer env is set, layer bin dirs are on the PATH."""
    assert_output(image.run("launcher", *args), expected)


def test_shell_command_gets_the_user_env_without_the_excluded_vars(image: LaunchImage) -> None:
    """acceptance/launcher_test.go:149 "provided CMD is not a process-type / passes through env vars
    from user, excluding excluded vars"."""
    done = image.run(
        "launcher",
        "echo",
        "$SOME_USER_VAR, $CNB_APP_DIR, $OTHER_VAR",
        CNB_APP_DIR=str(image.app),
        SOME_USER_VAR="some-user-val",
        OTHER_VAR="other-user-val",
    )
    assert_output(
        done,
        "sourced bp profile\nsourced app profile\nsome-user-val, , other-user-val**other-bp-val",
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ("echo", "something"), ("something",), id="launcher_test.go:179 launches directly"
        ),
        pytest.param(
            ("env",),
            ("SOME_VAR=some-bp-val", "OTHER_VAR=other-bp-val"),
            id="launcher_test.go:189 sets env vars from layers",
        ),
        pytest.param(
            ("bp-executable",),
            ("bp executable",),
            id="launcher_test.go:227 adds buildpack bin dirs to the path before the lookup",
        ),
    ],
)
def test_command_after_dashes_runs_directly(
    image: LaunchImage, args: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    """acceptance/launcher_test.go:179, :189 and :227 "CMD provided starts with --"."""
    done = image.run("launcher", "--", *args)
    assert_output(done, *expected)


def test_direct_command_gets_the_user_env_without_the_excluded_vars(image: LaunchImage) -> None:
    """acceptance/launcher_test.go:203 "CMD provided starts with -- / passes through env vars from
    user, excluding excluded vars"."""
    done = image.run(
        "launcher", "--", "env", CNB_APP_DIR=str(image.app), SOME_USER_VAR="some-user-val"
    )
    assert done.returncode == 0, done.stdout
    assert "SOME_USER_VAR=some-user-val" in done.stdout
    assert "CNB_APP_DIR" not in done.stdout
