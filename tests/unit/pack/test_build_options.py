"""Every ``pypack build`` option has an effect or a refusal on every platform.

The platforms are the daemonless build into the local store, ``--publish``, ``--daemon``,
``oci:PATH`` (all four run the lifecycle in-process) and ``--docker`` (the creator in a
container). For each option and platform the test runs the real CLI with the option and
without it, captures the build request the CLI hands over, maps it the way that platform does
(:func:`daemonless_inputs` or :func:`creator_container`) and checks that the option changed what
it must; a refused cell checks the one-line message and the exit code. A new option without a
row here fails :func:`test_every_option_is_in_the_table`. The table is docs/build-options.md.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest

import pypack.pack.build as daemonless
import pypack.pack.docker_build as docker_platform
from pypack.lifecycle.cache import ImageCache, VolumeCache
from pypack.lifecycle.inputs import CreatorInputs
from pypack.oci.image import Image
from pypack.oci.models import ContainerConfig
from pypack.pack.build import BuildRequest, WorkTree, cnb_ids, daemonless_inputs, prepare_work
from pypack.pack.build_command import build as build_command
from pypack.pack.cli import main as cli_main
from pypack.pack.docker_build import ContainerSpec, creator_container, docker_cache_dir
from pypack.pack.home import Home
from pypack.pack.sandbox import HOST_CA_MOUNT, BwrapRunner
from pypack.spec.api import LATEST_PLATFORM_API
from pypack.spec.module import ModuleRef

PLATFORMS = {
    "daemonless": ("img/app",),
    "--publish": ("127.0.0.1:5999/img/app", "--publish"),
    "--daemon": ("img/app", "--daemon"),
    "oci:": ("oci:{tmp}/layout:app",),
    "--docker": ("img/app", "--docker"),
}


@dataclass
class Built:
    """What one platform made of one command line."""

    request: BuildRequest
    tree: WorkTree
    inputs: CreatorInputs | None = None
    spec: ContainerSpec | None = None

    @property
    def docker(self) -> ContainerSpec:
        assert self.spec is not None
        return self.spec

    @property
    def lifecycle(self) -> CreatorInputs:
        assert self.inputs is not None
        return self.inputs

    @property
    def runner(self) -> BwrapRunner:
        assert isinstance(self.lifecycle.runner, BwrapRunner)
        return self.lifecycle.runner

    def env_file(self, name: str) -> str | None:
        path = self.tree.platform / "env" / name
        return path.read_text() if path.is_file() else None


Check = Callable[[Built, Path], bool]


@dataclass
class Row:
    """One option: its arguments, and what it changes on the lifecycle and docker platforms."""

    args: tuple[str, ...]
    lifecycle: Check
    docker: Check
    refused: dict[str, str] | None = None
    """Platform → the message the refusal must contain."""


def _arg(spec: ContainerSpec, text: str) -> bool:
    return text in spec.args


def _mounted(spec: ContainerSpec, target: str) -> bool:
    return any(v["bind"] == target for v in spec.volumes.values())


ROWS: dict[str, Row] = {
    "app": Row(
        ("--path", "{tmp}/other-app"),
        lambda b, _: (b.tree.workspace / "other.txt").is_file(),
        lambda b, _: (b.tree.workspace / "other.txt").is_file(),
    ),
    "builder": Row(
        ("--builder", "other/builder"),
        lambda b, _: b.request.builder == "other/builder",
        lambda b, _: b.request.builder == "other/builder",
    ),
    "buildpacks": Row(
        ("--buildpack", "{tmp}/bp"),
        lambda b, _: (
            ["ex/added"] in [[r.id for r in g] for g in b.lifecycle.order_transform([])]
            if b.lifecycle.order_transform
            else False
        ),
        lambda b, _: (
            _mounted(b.docker, "/cnb/buildpacks/ex_added/1.0.0")
            and (b.tree.layers / "order.toml").is_file()
        ),
    ),
    "envs": Row(
        ("--env", "GREETING=hi"),
        lambda b, _: b.env_file("GREETING") == "hi",
        lambda b, _: b.env_file("GREETING") == "hi",
    ),
    "env_file": Row(
        ("--env-file", "{tmp}/env.txt"),
        lambda b, _: b.env_file("FROM_FILE") == "yes",
        lambda b, _: b.env_file("FROM_FILE") == "yes",
    ),
    "run_image": Row(
        ("--run-image", "other/run"),
        lambda b, _: b.lifecycle.run_image == "other/run",
        lambda b, _: _arg(b.docker, "-run-image=other/run"),
    ),
    "cache_dir": Row(
        ("--cache-dir", "{tmp}/cache"),
        lambda b, tmp: (
            isinstance(b.lifecycle.cache, VolumeCache) and b.lifecycle.cache.root == tmp / "cache"
        ),
        lambda b, tmp: str(tmp / "cache") in b.docker.volumes,
    ),
    "cache_image": Row(
        ("--cache-image", "127.0.0.1:5999/img/cache"),
        lambda b, _: isinstance(b.lifecycle.cache, ImageCache),
        lambda b, _: _arg(b.docker, "-cache-image=127.0.0.1:5999/img/cache"),
        refused=dict.fromkeys(
            ("daemonless", "--daemon", "--docker"), "--cache-image needs --publish"
        )
        | {"oci:": "--cache-image needs --publish"},
    ),
    "report_output_dir": Row(
        ("--report-output-dir", "{tmp}/report"),
        lambda b, tmp: (
            b.lifecycle.paths.report_file == tmp / "report" / "report.toml"
            and b.lifecycle.write_report
        ),
        lambda b, tmp: _copied_report(b, tmp),
    ),
    "sbom_output_dir": Row(
        ("--sbom-output-dir", "{tmp}/sbom-out"),
        lambda b, tmp: _copied_sbom(b, tmp, daemonless.copy_sbom),
        lambda b, tmp: _copied_report(b, tmp) and (tmp / "sbom-out" / "sbom" / "x.json").exists(),
    ),
    "clear_cache": Row(
        ("--clear-cache",),
        lambda b, _: b.lifecycle.skip_restore,
        lambda b, _: _arg(b.docker, "-skip-restore"),
    ),
    "no_reuse": Row(
        ("--no-reuse",),
        lambda b, _: b.request.reuse is None,
        lambda b, _: True,
        refused={"--docker": "--docker builds are never reused"},
    ),
    "pull_policy": Row(
        ("--pull-policy", "never"),
        lambda b, _: b.request.images.pull_policy == "never",
        lambda b, _: b.request.images.pull_policy == "never",
    ),
    "network": Row(
        ("--network", "none"),
        lambda b, _: not b.runner.network,
        lambda b, _: b.docker.network_mode == "none",
    ),
    "volumes": Row(
        ("--volume", "{tmp}/vol:/data:ro"),
        lambda b, tmp: [v.target for v in b.runner.volumes] == ["/data"],
        lambda b, tmp: b.docker.volumes.get(str(tmp / "vol")) == {"bind": "/data", "mode": "ro"},
    ),
    "creation_time": Row(
        ("--creation-time", "1700000000"),
        lambda b, _: b.lifecycle.created == 1700000000,
        lambda b, _: b.docker.environment.get("SOURCE_DATE_EPOCH") == "1700000000",
    ),
    "descriptor": Row(
        ("--descriptor", "{tmp}/project.toml"),
        lambda b, _: b.env_file("FROM_PROJECT") == "1",
        lambda b, _: b.env_file("FROM_PROJECT") == "1",
    ),
    "tags": Row(
        ("--tag", "img/app:v2"),
        lambda b, _: list(b.lifecycle.tags) == ["img/app:v2"],
        lambda b, _: _arg(b.docker, "-tag=img/app:v2"),
    ),
    "previous_image": Row(
        ("--previous-image", "img/old"),
        lambda b, _: b.lifecycle.previous_image == "img/old",
        lambda b, _: _arg(b.docker, "-previous-image=img/old"),
    ),
    "default_process": Row(
        ("--default-process", "worker"),
        lambda b, _: b.lifecycle.process_type == "worker",
        lambda b, _: _arg(b.docker, "-process-type=worker"),
    ),
    "insecure": Row(
        ("--insecure-registry", "127.0.0.1:5999"),
        lambda b, _: "127.0.0.1:5999" in b.request.images.registry._insecure,
        lambda b, _: b.docker.environment.get("CNB_INSECURE_REGISTRIES") == "127.0.0.1:5999",
    ),
    "uid": Row(
        ("--uid", "2000"),
        lambda b, _: b.lifecycle.uid == 2000 and b.runner.uid == 2000,
        lambda b, _: _arg(b.docker, "-uid=2000"),
    ),
    "gid": Row(
        ("--gid", "3000"),
        lambda b, _: b.lifecycle.gid == 3000 and b.runner.gid == 3000,
        lambda b, _: _arg(b.docker, "-gid=3000"),
    ),
    "host_ca_certs": Row(
        ("--host-ca-certs",),
        lambda b, _: b.runner.host_ca is not None and b.env_file("SSL_CERT_FILE") == HOST_CA_MOUNT,
        lambda b, _: _mounted(b.docker, HOST_CA_MOUNT) and b.env_file("SSL_CERT_FILE") is not None,
    ),
}
PLATFORM_OPTIONS = {"publish", "daemon", "use_docker", "containerd", "containerd_namespace"}
"""Options that choose the platform: the columns of the table."""


def _copied_sbom(built: Built, tmp: Path, copy: Callable[[WorkTree, Path | None], None]) -> bool:
    (built.tree.layers / "sbom").mkdir(exist_ok=True)
    (built.tree.layers / "sbom" / "x.json").write_text("{}")
    copy(built.tree, built.request.sbom_dir)
    return (tmp / "sbom-out" / "sbom" / "x.json").is_file()


def _copied_report(built: Built, tmp: Path) -> bool:
    (built.tree.layers / "report.toml").write_text('[image]\ndigest = "sha256:00"\n')
    (built.tree.layers / "sbom").mkdir(exist_ok=True)
    (built.tree.layers / "sbom" / "x.json").write_text("{}")
    docker_platform.copy_outputs(built.request, built.tree)
    if built.request.report_dir is None:
        return built.request.sbom_dir is not None
    return (tmp / "report" / "report.toml").is_file()


def test_every_option_is_in_the_table() -> None:
    names = {p.name for p in build_command.params if isinstance(p, click.Option)}
    assert names - PLATFORM_OPTIONS == set(ROWS)


@pytest.fixture
def material() -> Iterator[Path]:
    """An app, another app, a buildpack, an env file, a project.toml and a volume, where the
    build user can reach them (pytest's own temporary directories are private)."""
    tmp_path = Path(tempfile.mkdtemp(prefix="pypack-options-", dir="/tmp"))
    tmp_path.chmod(0o755)
    yield _lay_out(tmp_path)
    shutil.rmtree(tmp_path, ignore_errors=True)


def _lay_out(tmp_path: Path) -> Path:
    for name in ("app", "other-app", "vol", "cache"):
        (tmp_path / name).mkdir()
    (tmp_path / "app" / "main.py").write_text("print('hi')\n")
    (tmp_path / "other-app" / "other.txt").write_text("x\n")
    bp = tmp_path / "bp"
    (bp / "bin").mkdir(parents=True)
    (bp / "buildpack.toml").write_text(
        'api = "0.10"\n[buildpack]\nid = "ex/added"\nversion = "1.0.0"\n'
    )
    for script in ("detect", "build"):
        (bp / "bin" / script).write_text("#!/bin/sh\nexit 0\n")
        (bp / "bin" / script).chmod(0o755)
    (tmp_path / "env.txt").write_text("FROM_FILE=yes\n")
    (tmp_path / "project.toml").write_text(
        '[_]\nschema-version = "0.2"\n[[io.buildpacks.build.env]]\n'
        'name = "FROM_PROJECT"\nvalue = "1"\n'
    )
    return tmp_path


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch, material: Path) -> list[BuildRequest]:
    """The requests the CLI hands to a platform, which is not run."""
    requests: list[BuildRequest] = []

    def keep(request: BuildRequest, *args: Any, **kwargs: Any) -> Any:
        requests.append(request)
        raise click.exceptions.Exit(0)

    monkeypatch.setattr(daemonless, "build", keep)
    monkeypatch.setattr(docker_platform, "docker_build", keep)
    monkeypatch.setenv("PYPACK_HOME", str(material / "home"))
    monkeypatch.setattr("pypack.oci.daemon.DaemonImageStore.__init__", lambda self: None)
    # No registry here: choosing among run image mirrors must not reach out.
    monkeypatch.setattr("pypack.pack.images.PlatformImages.readable", lambda self, name: False)
    return requests


def _builder() -> Image:
    builder = Image.empty()
    builder.config.config = ContainerConfig(Env=["CNB_USER_ID=1000", "CNB_GROUP_ID=1000"])
    builder.name = "some/builder"
    return builder


def _run(platform: str, extra: tuple[str, ...], tmp: Path, captured: list[BuildRequest]) -> Built:
    first, *flags = (a.format(tmp=tmp) for a in PLATFORMS[platform])
    args = [a.format(tmp=tmp) for a in extra]
    argv = ["build", first, *flags, "--builder", "some/builder", "--path", str(tmp / "app")]
    captured.clear()
    with pytest.raises(SystemExit) as done:
        cli_main([*argv, *args])
    assert done.value.code == 0, f"{argv + args} exited {done.value.code}"
    request = captured[0]
    work = Path(tmp / f"work-{len(list(tmp.glob('work-*')))}")
    work.mkdir()
    builder = _builder()
    ids = cnb_ids(request, builder)
    tree = prepare_work(work, request, *ids, lambda _: None)
    built = Built(request, tree)
    if platform == "--docker":
        built.spec = creator_container(
            request,
            tree,
            cache_dir=docker_cache_dir(request, Home(tmp / "home")),
            run_name=request.run_image or "some/run",
            ids=ids,
            platform_api=LATEST_PLATFORM_API,
            publish=False,
        )
        docker_platform.write_order(builder, tree)
    else:
        rootfs = tmp / "rootfs"
        (rootfs / "cnb").mkdir(parents=True, exist_ok=True)
        (rootfs / "cnb" / "run.toml").write_text('[[images]]\nimage = "some/run"\n')
        built.inputs = daemonless_inputs(
            request, tree, rootfs, builder, ids, Home(tmp / "home"), lambda _: None
        )
    return built


@pytest.mark.parametrize("platform", list(PLATFORMS))
@pytest.mark.parametrize("option", sorted(ROWS))
def test_option_has_an_effect_or_a_refusal(
    option: str,
    platform: str,
    material: Path,
    captured: list[BuildRequest],
    capsys: pytest.CaptureFixture[str],
) -> None:
    row = ROWS[option]
    refusal = (row.refused or {}).get(platform)
    if refusal is not None:
        first, *flags = (a.format(tmp=material) for a in PLATFORMS[platform])
        args = [a.format(tmp=material) for a in row.args]
        with pytest.raises(SystemExit) as done:
            cli_main(["build", first, *flags, "--builder", "b", *args])
        assert done.value.code == 1
        err = capsys.readouterr().err
        assert err.startswith("ERROR: ")
        assert refusal in err
        assert err.count("\n") == 1
        assert "Traceback" not in err
        return
    baseline = _run(platform, (), material, captured)
    with_option = _run(platform, row.args, material, captured)
    check = row.docker if platform == "--docker" else row.lifecycle
    assert not check(baseline, material), f"{option} on {platform}: the baseline already passes"
    assert check(with_option, material), f"{option} on {platform}: no effect"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--publish", "--daemon"], "--publish and --daemon are exclusive"),
        (["--docker"], "not oci:"),
        (["--publish"], "drop --publish"),
        (["--daemon"], "drop --daemon"),
    ],
)
def test_platform_combinations_that_are_refused(
    argv: list[str], message: str, material: Path, tmp_path: Path
) -> None:
    image = "img/app" if "--publish" in argv and "--daemon" in argv else f"oci:{tmp_path}/l"
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "pypack", "build", image, *argv, "--builder", "b",
         "--path", str(material / "app")],
        capture_output=True, text=True, env={"PYPACK_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert message in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "l").exists(), "nothing is written for a refused build"
    assert not any(home.glob("builds/*")) if home.exists() else True
    shutil.rmtree(home, ignore_errors=True)


def test_order_transform_of_added_buildpack_replaces_the_builder_groups(
    material: Path, captured: list[BuildRequest]
) -> None:
    built = _run("daemonless", ("--buildpack", "{tmp}/bp"), material, captured)
    transform = built.lifecycle.order_transform
    assert transform is not None
    builder_order = [[ModuleRef(id="builder/bp")]]
    assert [[r.id for r in g] for g in transform(builder_order)] == [["ex/added"]]


def test_network_default_is_packs_spelling_of_host(
    material: Path, captured: list[BuildRequest]
) -> None:
    built = _run("daemonless", ("--network", "default"), material, captured)
    assert built.request.network
    assert built.runner.network
