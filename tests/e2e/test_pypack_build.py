"""``pypack build`` end to end, without Docker: a busybox stack, a builder made by
``pypack builder create``, sh buildpacks under bubblewrap, images checked by skopeo and docker."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pypack import __version__ as pypack_version
from pypack.oci.image import Image
from pypack.oci.stores import LayoutImageStore
from pypack.pack.home import Home
from pypack.pack.images import local_name
from tests.conftest import tool
from tests.e2e.busybox_stack import Stack, stack, write_buildpack
from tests.e2e.conftest import PYPACK, default_sigint, pypack_env, run_pypack

__all__ = ["stack"]

pytestmark = pytest.mark.e2e


def test_daemonless_build_to_the_local_store(stack: Stack) -> None:
    app = stack.app()
    built = stack.pypack("build", "test/app:1", "--builder", "test/builder:1", "--path", str(app))
    assert "building in /workspace as 1000:1000" in built.stdout
    for banner in (
        "===> ANALYZING",
        "===> DETECTING",
        "===> RESTORING",
        "===> BUILDING",
        "===> EXPORTING",
    ):
        assert banner in built.stdout
    digest = re.search(r"\((sha256:[0-9a-f]{64})\)", built.stdout)
    assert digest is not None
    details = json.loads(
        subprocess.run(
            [tool("skopeo"), "inspect", f"oci:{stack.home / 'images'}:docker.io/test/app:1"],
            capture_output=True, check=True, text=True,
        ).stdout
    )  # fmt: skip
    assert details["Digest"] == digest.group(1)
    assert stack.pypack("run", "test/app:1").stdout == "hello: world\n"
    assert "docker.io/test/app:1" in stack.pypack("images").stdout
    again = stack.pypack("build", "test/app:1", "--builder", "test/builder:1", "--path", str(app))
    assert digest.group(1) in again.stdout  # unchanged source: the same image


def test_daemon_export_runs_under_docker(stack: Stack, docker_client: object) -> None:
    from tests.e2e.conftest import docker

    app = stack.app("daemon-app", "from the daemon")
    stack.pypack(
        "build",
        "pypack-test/daemon-app:1",
        "--builder",
        "test/builder:1",
        "--path",
        str(app),
        "--daemon",
    )
    assert (
        docker("run", "--rm", "--network", "none", "pypack-test/daemon-app:1").stdout
        == "hello: from the daemon\n"
    )


def test_publish_reuses_everything_unchanged(stack: Stack, registry: str) -> None:
    from pypack.oci.stores import RegistryImageStore

    run = LayoutImageStore(Home(stack.home).images).load(local_name("example.com/stacks/run:1"))
    assert run is not None
    RegistryImageStore().save(run, [f"{registry}/stacks/run:1"])
    app = stack.app("published", "published")
    name = f"{registry}/test/published:1"
    args = [
        "build",
        name,
        "--builder",
        "test/builder:1",
        "--path",
        str(app),
        "--publish",
        "--run-image",
        f"{registry}/stacks/run:1",
    ]
    stack.pypack(*args)
    first = RegistryImageStore().load(name)
    assert first is not None
    log = Path(os.environ["PYPACK_RUN"]) / "registry.log"
    offset = log.stat().st_size
    stack.pypack(*args)
    second = RegistryImageStore().load(name)
    assert second is not None
    assert second.digest == first.digest
    with open(log) as handle:
        handle.seek(offset)
        uploads = [
            line for line in handle if re.search(r'"(PUT|PATCH) /v2/[^ ]*/blobs/uploads/', line)
        ]
    assert uploads == []
    (app / "hello.txt").write_text("changed")
    stack.pypack(*args)
    third = RegistryImageStore().load(name)
    assert third is not None
    changed = [
        i for i, (a, b) in enumerate(zip(first.diff_ids, third.diff_ids, strict=True)) if a != b
    ]
    metadata = json.loads(third.label("io.buildpacks.lifecycle.metadata") or "{}")
    assert [third.diff_ids[i] for i in changed] == [entry["sha"] for entry in metadata["app"]]


def test_buildpacks_can_write_only_workspace_layers_and_tmp(stack: Stack) -> None:
    app = stack.app("probe-app")
    built = stack.pypack(
        "build", "test/probe:1", "--builder", "test/probe-builder:1", "--path", str(app)
    )
    results = dict(
        line.split(" ", 1)[::-1]
        for line in built.stdout.splitlines()
        if line.startswith(("writable", "refused"))
    )
    assert results == {
        "/workspace/probe": "writable",
        "/layers/probe": "writable",
        "/tmp/probe": "writable",
        "/etc/probe": "refused",
        "/cnb/probe": "refused",
        "/probe": "refused",
        "/platform/../probe2": "refused",
    }
    assert not Path("/etc/probe").exists()


def test_bad_input_is_one_line_and_changes_nothing(stack: Stack, tmp_path: Path) -> None:
    app = stack.app("bad-input")
    stack.pypack("build", "test/keep:1", "--builder", "test/builder:1", "--path", str(app))
    store = Home(stack.home).images
    before = store.resolve(local_name("test/keep:1"))
    cache = sorted(p.name for p in (stack.home / "cache").rglob("*"))
    env_file = tmp_path / "bad.env"
    env_file.write_text("GOOD=1\n=nope\n")
    project = app / "project.toml"
    private = stack.root / "private"  # goes with the stack
    private.mkdir(mode=0o700)
    (private / "data").mkdir()
    cases = [
        (
            ["--builder", "test/builder:1", "--volume", f"{private / 'data'}:/data"],
            f"because {private} is not searchable by others; chmod o+x {private}",
        ),
        (["--builder", "test/missing:1"], "builder 'test/missing:1' not found"),
        (
            ["--builder", "test/builder:1", "--env-file", str(env_file)],
            f"--env-file {env_file}: line 2:",
        ),
        (
            ["--builder", "test/builder:1", "--volume", f"{tmp_path}:/cnb/x"],
            "/cnb is reserved for the build",
        ),
        (
            ["--builder", "test/builder:1", "--publish", "--run-image", "127.0.0.1:1/none/run:1"],
            "cannot connect",
        ),
    ]
    for extra, message in cases:
        result = stack.pypack("build", "test/keep:1", "--path", str(app), *extra, check=False)
        assert result.returncode != 0, extra
        assert result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith("ERROR: "), result.stderr
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    project.write_text(
        '[_]\nschema-version = "0.2"\n[io.buildpacks]\ninclude = ["a"]\nexclude = ["b"]\n'
    )
    both = stack.pypack(
        "build", "test/keep:1", "--builder", "test/builder:1", "--path", str(app), check=False
    )
    assert both.returncode == 1
    assert (
        both.stderr
        == f"ERROR: {project}: io.buildpacks: cannot have both 'include' and 'exclude'; keep one\n"
    )
    project.unlink()
    assert store.resolve(local_name("test/keep:1")) == before
    assert sorted(p.name for p in (stack.home / "cache").rglob("*")) == cache


def test_case_36_project_toml_filters_and_env(stack: Stack) -> None:
    app = stack.app("project-app")
    (app / "debug.log").write_text("secret log")
    (app / "tmp").mkdir(exist_ok=True)
    (app / "tmp" / "scratch").write_text("x")
    (app / "project.toml").write_text(
        '[_]\nschema-version = "0.2"\n[io.buildpacks]\nexclude = ["*.log", "tmp/"]\n'
        '[[io.buildpacks.build.env]]\nname = "BP_GREETING"\nvalue = "from project.toml"\n'
    )
    stack.pypack("build", "test/project:1", "--builder", "test/builder:1", "--path", str(app))
    image = LayoutImageStore(Home(stack.home).images).load(local_name("test/project:1"))
    assert image is not None
    metadata = json.loads(image.label("io.buildpacks.lifecycle.metadata") or "{}")
    app_sha = metadata["app"][-1]["sha"]
    import tarfile

    with (
        image.layer(app_sha).open_uncompressed() as stream,
        tarfile.open(fileobj=stream, mode="r|") as tar,
    ):
        names = [member.name for member in tar]
    assert "workspace/hello.txt" in names
    assert not any(n.endswith(("debug.log", "tmp/scratch")) for n in names)


def test_rebase_keeps_app_and_buildpack_layers(stack: Stack) -> None:
    from pypack.oci.layers import write_layer_file

    app = stack.app("rebase-app", "rebased")
    stack.pypack("build", "test/rebase:1", "--builder", "test/builder:1", "--path", str(app))
    store = LayoutImageStore(Home(stack.home).images)
    before = store.load(local_name("test/rebase:1"))
    run = store.load(local_name("example.com/stacks/run:1"))
    assert before is not None
    assert run is not None
    patched = run.copy()
    patch = stack.root / "patch.tar"
    patched.add_layer(
        patch, write_layer_file(patch, lambda w: w.add_bytes("etc/patch-level", b"2\n"))
    )
    store.save(patched, [local_name("example.com/stacks/run:1")])
    stack.pypack("rebase", "test/rebase:1")
    after = store.load(local_name("test/rebase:1"))
    assert after is not None
    base = len(run.layers)
    assert after.diff_ids[: base + 1] == patched.diff_ids
    assert after.diff_ids[base + 1 :] == before.diff_ids[base:]
    assert stack.pypack("run", "test/rebase:1").stdout == "hello: rebased\n"
    inspected = stack.pypack("inspect", "test/rebase:1", "--output", "json").stdout
    info = json.loads(inspected)["local_info"]
    assert info["base_image"]["top_layer"] == patched.top_layer
    assert [p["type"] for p in info["processes"]] == ["web"]
    store.save(run, [local_name("example.com/stacks/run:1")])  # other tests keep the original


def test_docker_builds_with_the_creator_in_a_container(
    stack: Stack, debian_rootfs: Path, docker_client: object
) -> None:
    from pypack.oci.layers import tar_file_info
    from tests.e2e.conftest import docker

    build = Image.empty()
    build.add_layer(debian_rootfs, tar_file_info(debian_rootfs))
    for key, value in (
        ("PATH", "/usr/bin:/bin"),
        ("CNB_USER_ID", "1000"),
        ("CNB_GROUP_ID", "1000"),
    ):
        build.set_env(key, value)
    LayoutImageStore(Home(stack.home).images).save(
        build, [local_name("example.com/stacks/debian-build:1")]
    )
    config = stack.root / "debian-builder.toml"
    config.write_text(
        (stack.root / "builder.toml").read_text().replace("stacks/build:1", "stacks/debian-build:1")
    )
    created = stack.pypack("builder", "create", "test/debian-builder:1", "--config", str(config))
    assert "Warning" not in created.stderr  # python3 3.11 matches: the lifecycle is installed
    app = stack.app("docker-app", "built by the creator")
    built = stack.pypack(
        "build",
        "pypack-test/docker-app:1",
        "--docker",
        "--builder",
        "test/debian-builder:1",
        "--path",
        str(app),
    )
    assert "[creator] ===> EXPORTING" in built.stdout
    ran = docker("run", "--rm", "--network", "none", "pypack-test/docker-app:1")
    assert ran.stdout == "hello: built by the creator\n"
    _docker_passes_on_buildpacks_volumes_and_outputs(stack, app)
    refused = stack.pypack(
        "build", "x/y:1", "--docker", "--builder", "test/builder:1", "--path", str(app), check=False
    )
    assert refused.returncode == 1
    assert "has no lifecycle that runs in its build image" in refused.stderr


def _docker_passes_on_buildpacks_volumes_and_outputs(stack: Stack, app: Path) -> None:
    """--buildpack, --volume and --report-output-dir reach the creator's container."""
    added = write_buildpack(
        stack.root / "docker-added",
        "test/docker-added",
        '#!/bin/sh\necho "added ran as $(id -u), volume: $(cat /data/msg.txt)"\n',
    )
    data = stack.root / "docker-data"
    data.mkdir()
    (data / "msg.txt").write_text("from the host")
    report = stack.root / "docker-report"
    built = stack.pypack(
        "build", "pypack-test/docker-added:1", "--docker", "--builder", "test/debian-builder:1",
        "--path", str(app), "--buildpack", str(added), "--volume", f"{data}:/data:ro",
        "--report-output-dir", str(report), "--uid", "1234",
    )  # fmt: skip
    assert "[creator] added ran as 1234, volume: from the host" in built.stdout
    assert (report / "report.toml").read_text().count("pypack-test/docker-added:1") == 1


def test_case_37_builder_create_output(stack: Stack, tmp_path: Path) -> None:
    import tomllib

    from pypack.pack.rootfs import unpack

    root = stack.root
    (root / "buildpacks" / "composite").mkdir(exist_ok=True)
    (root / "buildpacks" / "composite" / "buildpack.toml").write_text(
        'api = "0.10"\n[buildpack]\nid = "test/meta"\nversion = "1.0.0"\n'
        '[[order]]\n[[order.group]]\nid = "test/hello"\nversion = "0.1.0"\n'
        '[[order]]\n[[order.group]]\nid = "test/probe"\nversion = "0.1.0"\n'
    )
    config = root / "composite-builder.toml"
    config.write_text(
        (root / "builder.toml").read_text().replace('id = "test/hello"\n', 'id = "test/meta"\n')
        + '[[buildpacks]]\nuri = "buildpacks/composite"\n'
        + '[[build.env]]\nname = "BP_LOG"\nvalue = "debug"\nsuffix = "default"\n'
    )
    stack.pypack("builder", "create", "test/composite-builder:1", "--config", str(config))
    image = LayoutImageStore(Home(stack.home).images).load(local_name("test/composite-builder:1"))
    assert image is not None
    rootfs = unpack(image, tmp_path / "rootfs")
    order = tomllib.loads((rootfs / "cnb" / "order.toml").read_text())
    assert order == {
        "order": [{"group": [{"id": "test/meta", "version": "1.0.0", "optional": False}]}]
    }
    assert (rootfs / "cnb" / "buildpacks" / "test_hello" / "0.1.0" / "bin" / "build").is_file()
    assert (rootfs / "cnb" / "build-config" / "env" / "BP_LOG.default").read_text() == "debug"
    assert tomllib.loads((rootfs / "cnb" / "run.toml").read_text())["images"][0]["mirrors"] == [
        "mirror.example.com/stacks/run:1"
    ]
    layers = json.loads(image.label("io.buildpacks.buildpack.layers") or "{}")
    assert layers["test/meta"]["1.0.0"]["order"][1]["group"][0]["id"] == "test/probe"
    assert layers["test/hello"]["0.1.0"]["layerDiffID"] in image.diff_ids
    metadata = json.loads(image.label("io.buildpacks.builder.metadata") or "{}")
    assert metadata["createdBy"]["name"] == "pypack"
    assert metadata["images"][0]["image"] == "example.com/stacks/run:1"
    app = stack.app("composite-app", "via a composite")
    stack.pypack(
        "build", "test/composite-app:1", "--builder", "test/composite-builder:1", "--path", str(app)
    )
    assert stack.pypack("run", "test/composite-app:1").stdout == "hello: via a composite\n"
    config.write_text(config.read_text().replace('suffix = "default"', 'suffix = "append"'))
    bad = stack.pypack("builder", "create", "test/bad:1", "--config", str(config), check=False)
    assert bad.returncode == 1
    problem = "build.env[0].delim: required with suffix 'append'; set e.g. delim = \":\""
    assert bad.stderr == f"ERROR: {config}: {problem}\n"


def test_buildpack_package_as_file_and_image_feeds_a_builder(stack: Stack, registry: str) -> None:
    root = stack.root
    (root / "package.toml").write_text('[buildpack]\nuri = "buildpacks/test_hello"\n')
    cnb = root / "hello.cnb"
    as_file = stack.pypack(
        "buildpack", "package", str(cnb), "--config", str(root / "package.toml"), "--format", "file"
    )
    published = f"{registry}/buildpacks/hello:0.1.0"
    as_image = stack.pypack(
        "buildpack", "package", published, "--config", str(root / "package.toml"), "--publish"
    )
    digest = re.search(r"sha256:[0-9a-f]{64}", as_file.stdout)
    assert digest is not None
    assert digest.group(0) in as_image.stdout  # the same package, whatever the format
    listing = subprocess.run(
        ["tar", "tf", str(cnb)], capture_output=True, text=True, check=True
    ).stdout
    assert "index.json" in listing.split()
    skopeo = json.loads(
        subprocess.run(
            [tool("skopeo"), "inspect", "--tls-verify=false", f"docker://{published}"],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    assert json.loads(skopeo["Labels"]["io.buildpacks.buildpackage.metadata"])["id"] == "test/hello"
    for name, entry in (
        ("from-cnb", 'uri = "hello.cnb"'),
        ("from-image", f'uri = "docker://{published}"'),
    ):
        config = root / f"{name}.toml"
        text = (root / "builder.toml").read_text()
        config.write_text(text.replace('uri = "buildpacks/test_hello"', entry))
        stack.pypack("builder", "create", f"test/{name}:1", "--config", str(config))
        app = stack.app(f"{name}-app", name)
        stack.pypack(
            "build", f"test/{name}-app:1", "--builder", f"test/{name}:1", "--path", str(app)
        )
        assert stack.pypack("run", f"test/{name}-app:1").stdout == f"hello: {name}\n"


INLINE_PROJECT = """
[_]
schema-version = "0.2"

[[io.buildpacks.group]]
id = "test/hello"

[[io.buildpacks.post.group]]
id = "me/inline"
[io.buildpacks.post.group.script]
api = "0.10"
inline = '''
echo "inline ran as $(id -u)"
cat > "$CNB_LAYERS_DIR/launch.toml" <<EOF
[[processes]]
type = "extra"
command = ["echo", "extra process"]
EOF
'''
"""


def test_added_buildpacks_and_inline_scripts(stack: Stack) -> None:
    app = stack.app("inline-app", "inline")
    (app / "project.toml").write_text(INLINE_PROJECT)
    built = stack.pypack(
        "build", "test/inline:1", "--builder", "test/builder:1", "--path", str(app)
    )
    assert "inline ran as 1000" in built.stdout
    assert stack.pypack("run", "test/inline:1").stdout == "hello: inline\n"
    assert stack.pypack("run", "test/inline:1", "--process", "extra").stdout == "extra process\n"
    replaced = stack.pypack("run", "test/inline:1", "--", "echo", "a", "command", "instead")
    assert replaced.stdout == "a command instead\n"  # through the launcher, as docker run would
    directory = stack.root / "buildpacks" / "test_probe"
    probe = stack.pypack(
        "build",
        "test/added:1",
        "--builder",
        "test/builder:1",
        "--path",
        str(app),
        "--buildpack",
        str(directory),
    )
    assert "writable /layers/probe" in probe.stdout  # the added buildpack replaced the group
    assert "inline ran" in probe.stdout  # project.toml post buildpacks still run


def test_an_app_given_as_a_zip_is_built_from_its_contents(stack: Stack) -> None:
    import zipfile

    app = stack.app("zipped-src", "from a zip")
    archive = stack.root / "zipped-app.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(app / "hello.txt", "hello.txt")
    stack.pypack("build", "test/zipped:1", "--builder", "test/builder:1", "--path", str(archive))
    assert stack.pypack("run", "test/zipped:1").stdout == "hello: from a zip\n"


def _leftovers(home: Path, tmp: Path) -> list[str]:
    """What a finished command left behind: anything in its TMPDIR, work directories under the
    home's builds/, and half-written blobs or cache staging."""
    found = [str(p) for p in tmp.iterdir()]
    builds = home / "builds"
    found += [str(p) for p in builds.iterdir()] if builds.is_dir() else []
    for pattern in (".incoming-*", ".writing-*", "*.tmp", "staging"):
        found += [str(p) for p in home.rglob(pattern) if "rootfs" not in p.parts]
    return found


def test_builds_leave_nothing_behind(stack: Stack, registry: str, docker_client: object) -> None:
    tmp = stack.root / "tmpdir"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp)}
    app = stack.app("tidy-app", "tidy")
    common = ("--builder", "test/builder:1", "--path", str(app))
    for args in (
        ("test/tidy:1",),
        ("test/tidy:1",),  # with a previous image
        ("pypack-test/tidy:1", "--daemon"),
        ("pypack-test/tidy:1", "--daemon"),  # the previous image is read from the daemon
        (f"{registry}/test/tidy:1", "--publish", "--insecure-registry", registry),
        (f"oci:{stack.root / 'tidy-layout'}:1",),
    ):
        run_pypack(stack.home, "build", *args, *common, env=env)
        assert _leftovers(stack.home, tmp) == [], args
    failing = write_buildpack(stack.root / "tidy-bps", "test/fails", "#!/bin/sh\nexit 7\n")
    failed = run_pypack(
        stack.home, "build", "test/tidy:2", *common, "--buildpack", str(failing),
        check=False, env=env,
    )  # fmt: skip
    assert failed.returncode != 0
    assert _leftovers(stack.home, tmp) == []
    slow = write_buildpack(stack.root / "tidy-bps", "test/slow", "#!/bin/sh\nsleep 60\n")
    with subprocess.Popen(
        [PYPACK, "build", "test/tidy:3", *common, "--buildpack", str(slow)],
        stdout=subprocess.PIPE, text=True, env=pypack_env(stack.home, env),
        preexec_fn=default_sigint,
    ) as interrupted:  # fmt: skip
        assert interrupted.stdout is not None
        for line in interrupted.stdout:
            if "===> BUILDING" in line:
                interrupted.send_signal(signal.SIGINT)
                break
        assert interrupted.wait(timeout=30) != 0
    assert _leftovers(stack.home, tmp) == []
    assert not LayoutImageStore(Home(stack.home).images).exists(local_name("test/tidy:3"))


def test_builder_config_errors_name_the_file_as_given(stack: Stack) -> None:
    config = stack.root / "configs" / "my-builder.toml"
    config.parent.mkdir()
    config.write_text(
        (stack.root / "builder.toml")
        .read_text()
        .replace("example.com/stacks/build:1", "example.com/stacks/missing:1")
        .replace('uri = "buildpacks/', 'uri = "../buildpacks/')
    )
    done = subprocess.run(
        [PYPACK, "builder", "create", "test/named:1", "--config", "configs/my-builder.toml",
         "--pull-policy", "never"],
        cwd=stack.root, capture_output=True, text=True, env=pypack_env(stack.home), check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "ERROR: configs/my-builder.toml: build.image 'example.com/stacks/missing:1' not found "
        "locally or in its registry"
    ]


def _create_with(stack: Stack, config_text: str) -> subprocess.CompletedProcess[str]:
    config = stack.root / "configs" / "broken.toml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(config_text)
    return subprocess.run(
        [PYPACK, "builder", "create", "test/broken:1", "--config", "configs/broken.toml",
         "--pull-policy", "never"],
        cwd=stack.root, capture_output=True, text=True, env=pypack_env(stack.home), check=False,
    )  # fmt: skip


def test_buildpack_errors_name_the_builder_config_and_the_buildpack(stack: Stack) -> None:
    text = (
        (stack.root / "builder.toml")
        .read_text()
        .replace('uri = "buildpacks/', 'uri = "../buildpacks/')
    )
    missing = _create_with(stack, text.replace("../buildpacks/test_hello", "../buildpacks/nothing"))
    assert missing.returncode == 1
    assert missing.stderr.splitlines()[-1] == (
        "ERROR: configs/broken.toml: [[buildpacks]] buildpack '../buildpacks/nothing': "
        "buildpacks/nothing has no buildpack.toml"  # paths as seen from where pypack runs
    )
    # pack (internal/builder validateLifecycleCompat): a buildpack API the lifecycle does not
    # support is refused when the builder is made, not when a build runs.
    old = write_buildpack(stack.root / "old-bps", "test/old", "#!/bin/sh\n")
    toml = old / "buildpack.toml"
    toml.write_text(toml.read_text().replace('api = "0.10"', 'api = "0.2"'))
    refused = _create_with(stack, text + '[[buildpacks]]\nuri = "../old-bps/test_old"\n')
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1] == (
        "ERROR: configs/broken.toml: buildpack 'test/old@0.1.0' (Buildpack API 0.2) is "
        f"incompatible with lifecycle '{pypack_version}' (Buildpack API(s) 0.7, 0.8, 0.9, 0.10, "
        "0.11, 0.12); use a buildpack written for one of those"
    )
    assert not LayoutImageStore(Home(stack.home).images).exists(local_name("test/broken:1"))


def _project_metadata(stack: Stack, name: str) -> Any:
    image = LayoutImageStore(Home(stack.home).images).load(local_name(name))
    assert image is not None
    return json.loads(image.label("io.buildpacks.project.metadata") or "null")


def test_project_metadata_comes_from_project_toml_else_git(stack: Stack) -> None:
    # pack build.go: project.toml's version/source-url (type "project"), else the app's git
    # repository (type "git", pkg/project/v02/metadata.go), else an empty label.
    declared = stack.app("declared-app")
    (declared / "project.toml").write_text(
        '[_]\nschema-version = "0.2"\nversion = "1.4.2"\n'
        'source-url = "https://example.com/org/app"\n'
    )
    stack.pypack("build", "test/declared:1", "--builder", "test/builder:1", "--path", str(declared))
    assert _project_metadata(stack, "test/declared:1") == {
        "source": {
            "type": "project",
            "version": {"declared": "1.4.2"},
            "metadata": {"url": "https://example.com/org/app"},
        }
    }
    repo = stack.app("git-app")

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            capture_output=True, check=True, text=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    git("tag", "v1.0.0")
    git("remote", "add", "origin", "https://example.com/org/git-app.git")
    stack.pypack("build", "test/git:1", "--builder", "test/builder:1", "--path", str(repo))
    assert _project_metadata(stack, "test/git:1") == {
        "source": {
            "type": "git",
            "version": {"commit": git("rev-parse", "HEAD"), "describe": "v1.0.0"},
            "metadata": {"refs": ["main", "v1.0.0"], "url": "https://example.com/org/git-app.git"},
        }
    }
    plain = stack.app("plain-app")
    stack.pypack("build", "test/plain:1", "--builder", "test/builder:1", "--path", str(plain))
    assert _project_metadata(stack, "test/plain:1") in ({}, None)


RUN_IMAGES = [
    {"name": "mine.example.com/run:1", "user_configured": True},
    {"name": "example.com/stacks/run:1"},
    {"name": "mirror.example.com/stacks/run:1"},
]


def test_run_image_mirrors_are_recorded_and_inspect_shows_them_as_pack(stack: Stack) -> None:
    # pack: the label keeps the builder's run image with its mirrors (lifecycle
    # platform/run_image.go GetRunImageForExport); inspect lists the user's mirrors first
    # (internal/inspectimage/info_display.go) in pack's json/yaml/toml keys.
    import tomllib

    import yaml

    app = stack.app("inspect-app")
    stack.pypack("build", "test/inspect:1", "--builder", "test/builder:1", "--path", str(app))
    image = LayoutImageStore(Home(stack.home).images).load(local_name("test/inspect:1"))
    assert image is not None
    run_image = json.loads(image.label("io.buildpacks.lifecycle.metadata") or "{}")["runImage"]
    assert run_image["image"] == "example.com/stacks/run:1"
    assert run_image["mirrors"] == ["mirror.example.com/stacks/run:1"]
    added = stack.pypack(
        "config", "run-image-mirrors", "add", "example.com/stacks/run:1",
        "-m", "mine.example.com/run:1",
    )  # fmt: skip
    try:
        assert added.stdout == (
            "Run Image example.com/stacks/run:1 configured with mirror mine.example.com/run:1\n"
        )
        document = json.loads(stack.pypack("inspect", "test/inspect:1", "-o", "json").stdout)
        assert document["image_name"] == "test/inspect:1"
        assert document["remote_info"] is None  # not in a registry (offline: unreadable)
        local = document["local_info"]
        assert local["run_images"] == RUN_IMAGES
        assert local["base_image"]["top_layer"] == run_image["topLayer"]
        assert local["processes"] == [
            {
                "type": "web",
                "shell": "",  # Buildpack API 0.9+ processes run directly: no shell
                "command": "hello",
                "default": True,
                "args": [],
                "working-dir": "/workspace",
            }
        ]
        assert [b["id"] for b in local["buildpacks"]] == ["test/hello"]
        assert local["rebasable"] is True
        as_yaml = stack.pypack("inspect", "test/inspect:1", "--output", "yaml").stdout
        assert yaml.safe_load(as_yaml) == document
        as_toml = stack.pypack("inspect", "test/inspect:1", "--output", "toml").stdout
        assert tomllib.loads(as_toml) == {"image_name": "test/inspect:1", "local_info": local}
        human = stack.pypack("inspect", "test/inspect:1").stdout.splitlines()
        assert human[0] == "Inspecting image: 'test/inspect:1'"
        runs = human.index("Run Images:")
        assert human[runs + 1 : runs + 4] == [
            "  mine.example.com/run:1 (user-configured)",
            "  example.com/stacks/run:1",
            "  mirror.example.com/stacks/run:1",
        ]
        assert "Rebasable: true" in human
        processes = human.index("Processes:")
        assert human[processes + 1].split() == ["TYPE", "SHELL", "COMMAND", "ARGS", "WORK", "DIR"]
        assert human[processes + 2].split() == ["web", "(default)", "hello", "/workspace"]
    finally:
        stack.pypack("config", "run-image-mirrors", "remove", "example.com/stacks/run:1")


def test_inspect_finds_daemon_and_registry_images(
    stack: Stack, registry: str, docker_client: object
) -> None:
    # pack inspects the daemon's image as LOCAL and the registry's as REMOTE.
    app = stack.app("inspect-where")
    daemon_name = "pypack-test/inspect-daemon:1"
    stack.pypack(
        "build", daemon_name, "--builder", "test/builder:1", "--path", str(app), "--daemon"
    )
    local = json.loads(stack.pypack("inspect", daemon_name, "-o", "json").stdout)["local_info"]
    assert [p["type"] for p in local["processes"]] == ["web"]
    published = f"{registry}/test/inspect-remote:1"
    stack.pypack("build", published, "--builder", "test/builder:1", "--path", str(app), "--publish")
    document = json.loads(stack.pypack("inspect", published, "-o", "json").stdout)
    assert document["local_info"] is None
    assert document["remote_info"]["run_images"][0] == {"name": "example.com/stacks/run:1"}
    missing = stack.pypack("inspect", f"{registry}/test/never-built:1", check=False)
    assert missing.returncode == 1
    assert missing.stderr == (
        f"ERROR: unable to find image '{registry}/test/never-built:1' locally or remotely\n"
    )


def test_volumes_at_new_paths_and_bindings_under_platform(stack: Stack) -> None:
    # pack mounts --volume wherever the user says (processVolumes only warns about /cnb,
    # /layers and /workspace): a read-write volume at a path the builder has no directory for
    # and a read-only binding under /platform/bindings both reach the buildpack.
    added = write_buildpack(
        stack.root / "volume-bp",
        "test/volume-reader",
        "#!/bin/sh\nset -e\n"
        'echo "binding: $(cat /platform/bindings/db/type)"\n'
        'echo "written by the build" > /srv/new/dir/out.txt\n'
        'if touch /srv/blocked 2>/dev/null; then echo "root writable"; fi\n',
    )
    binding = stack.root / "binding-db"
    binding.mkdir()
    (binding / "type").write_text("postgresql")
    shared = stack.root / "shared-rw"
    shared.mkdir()
    os.chown(shared, 1000, 1000)
    built = stack.pypack(
        "build", "test/volumes:1", "--builder", "test/builder:1",
        "--path", str(stack.app("volume-app")), "--buildpack", str(added),
        "--volume", f"{binding}:/platform/bindings/db:ro", "--volume", f"{shared}:/srv/new/dir:rw",
    )  # fmt: skip
    assert "binding: postgresql" in built.stdout
    assert "root writable" not in built.stdout, "the rootfs stays read-only around the mount"
    assert (shared / "out.txt").read_text() == "written by the build\n"


SBOM_SCRIPT = """#!/bin/sh
set -e
mkdir -p "$CNB_LAYERS_DIR/tools"
printf '[types]\\nlaunch = true\\n' > "$CNB_LAYERS_DIR/tools.toml"
printf '{"bomFormat": "CycloneDX", "components": [{"name": "tool"}]}' \\
  > "$CNB_LAYERS_DIR/tools.sbom.cdx.json"
"""


def test_sbom_download_from_the_store_the_daemon_and_a_registry(
    stack: Stack, registry: str, docker_client: object, tmp_path: Path
) -> None:
    # pack sbom download (pkg/client/download_sbom.go): the layer the lifecycle metadata's
    # sbom.sha names, extracted into --output-dir; --remote reads the registry.
    sbom_bp = write_buildpack(stack.root / "sbom-bp", "test/sbom", SBOM_SCRIPT)
    toml = sbom_bp / "buildpack.toml"
    toml.write_text(toml.read_text() + 'sbom-formats = ["application/vnd.cyclonedx+json"]\n')
    app = stack.app("sbom-app")
    common = ("--builder", "test/builder:1", "--path", str(app), "--buildpack", str(sbom_bp))
    published = f"{registry}/test/sbom:1"
    for name, flags in (
        ("test/sbom:1", ()),
        ("pypack-test/sbom:1", ("--daemon",)),
        (published, ("--publish",)),
    ):
        stack.pypack("build", name, *common, *flags)
        out = tmp_path / name.replace("/", "_").replace(":", "_")
        remote = ("--remote",) if name == published else ()
        done = stack.pypack("sbom", "download", name, "--output-dir", str(out), *remote)
        sbom = out / "layers" / "sbom" / "launch" / "test_sbom" / "tools" / "sbom.cdx.json"
        assert json.loads(sbom.read_text())["components"] == [{"name": "tool"}], done.stdout
    missing = stack.pypack("sbom", "download", "test/never-built:1", check=False)
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == [
        "Warning: if the image is saved on a registry run with the flag '--remote', for "
        "example: 'pypack sbom download --remote test/never-built:1'",
        "ERROR: image 'test/never-built:1' cannot be found",
    ]
    # every app image carries the launcher's SBOM; the run image has none
    none = stack.pypack(
        "sbom", "download", "example.com/stacks/run:1", "-o", str(tmp_path / "none"), check=False
    )
    assert (none.returncode, none.stderr) == (
        1,
        "ERROR: could not find SBoM information on 'example.com/stacks/run:1'\n",
    )
    assert not (tmp_path / "none").exists(), "nothing written when there is nothing to write"
