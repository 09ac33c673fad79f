"""Conformance cases 24-29 and 34 (export, cache, restore, rebase) against the real registry."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tomllib

import pytest

from pypack.oci.image import Image
from pypack.oci.layers import write_layer_file
from pypack.oci.models import Platform
from pypack.oci.stores import RegistryImageStore
from tests.conformance.harness import CNB_GID, CNB_UID, Workspace

pytestmark = pytest.mark.integration

WEB = '[[processes]]\ntype = "web"\ncommand = ["web-cmd"]\ndefault = true\n'
WORKER = '[[processes]]\ntype = "worker"\ncommand = ["worker-cmd"]\n'


def push_run_image(
    registry: str, base: Image, name: str, *, arch: str = "amd64", extra: str = ""
) -> str:
    image = base.copy()
    image.set_platform(Platform(os="linux", architecture=arch))
    image.set_label("io.buildpacks.base.distro.name", "busybox")
    image.set_label("io.buildpacks.base.distro.version", "1")
    if extra:
        image.set_label("io.buildpacks.base.maintainer", extra)
    reference = f"{registry}/conformance/{name}"
    RegistryImageStore().save(image, [reference])
    return reference


def launch_toml(*tables: str) -> str:
    return "cat > \"$1/launch.toml\" <<'EOF'\n" + "".join(tables) + "EOF"


def layer(name: str, types: str, content: str = "x") -> str:
    return (
        f'mkdir -p "$1/{name}" && echo {content} > "$1/{name}/file"\n'
        f'printf \'[types]\\n{types}\\n[metadata]\\nname = "{name}"\\n\' > "$1/{name}.toml"'
    )


def build(
    ws: Workspace, registry: str, run: str, app: str, *extra: str, env: dict[str, str] | None = None
) -> None:
    """detector → analyzer → restorer → builder → exporter, as five separate phases."""
    steps = [
        ("analyzer", ["-run-image", run, app]),
        ("detector", []),
        ("restorer", list(extra)),
        ("builder", []),
        ("exporter", [*extra, app]),
    ]
    for phase, flags in steps:
        result = ws.run(phase, *flags, env=env)
        assert result.code == 0, f"{phase}: {result.text}"


def pull(reference: str) -> Image:
    image = RegistryImageStore().load(reference)
    assert image is not None
    return image


def members(image: Image, index: int) -> list[tarfile.TarInfo]:
    with image.layers[index].open_uncompressed() as stream:
        data = stream.read()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getmembers()


def test_case_24_entrypoint_env_and_labels(
    ws: Workspace, registry: str, busybox_base: Image
) -> None:
    run = push_run_image(registry, busybox_base, "run24:1")
    ws.buildpack("a", build=launch_toml(WEB, WORKER))
    ws.order([[("a", "1.0.0", False)]])
    app = f"{registry}/conformance/app24:1"
    build(ws, registry, run, app)
    image = pull(app)
    assert image.entrypoint == ["/cnb/process/web"]
    assert image.cmd is None
    assert image.working_dir == str(ws.app)
    assert image.env("CNB_LAYERS_DIR") == str(ws.layers)
    assert image.env("CNB_APP_DIR") == str(ws.app)
    assert (image.env("PATH") or "").startswith("/cnb/process:/cnb/lifecycle:")
    for label in (
        "io.buildpacks.lifecycle.metadata",
        "io.buildpacks.build.metadata",
        "io.buildpacks.project.metadata",
    ):
        assert image.label(label), label
    build_md = json.loads(image.label("io.buildpacks.build.metadata") or "{}")
    assert [p["type"] for p in build_md["processes"]] == ["web", "worker"]
    assert build_md["buildpack-default-process-type"] == "web"
    assert ws.run("exporter", "-process-type", "worker", app).code == 0
    assert pull(app).entrypoint == ["/cnb/process/worker"]
    unknown = ws.run("exporter", "-process-type", "nope", app)
    assert unknown.code == 62
    assert "default process type 'nope' not present" in unknown.err
    report = tomllib.loads((ws.layers / "report.toml").read_text())
    assert report["image"]["tags"] == [app]
    assert report["image"]["digest"].startswith("sha256:")
    assert isinstance(report["image"]["manifest-size"], int)


def test_case_24_no_processes_means_the_launcher(
    ws: Workspace, registry: str, busybox_base: Image
) -> None:
    run = push_run_image(registry, busybox_base, "run24b:1")
    ws.buildpack("a")
    ws.order([[("a", "1.0.0", False)]])
    app = f"{registry}/conformance/app24b:1"
    build(ws, registry, run, app)
    assert pull(app).entrypoint == ["/cnb/lifecycle/launcher"]


def test_case_25_reproducible_export(ws: Workspace, registry: str, busybox_base: Image) -> None:
    run = push_run_image(registry, busybox_base, "run25:1")
    ws.buildpack("a", build=launch_toml(WEB) + "\n" + layer("deps", "launch = true"))
    ws.order([[("a", "1.0.0", False)]])
    (ws.app / "main.txt").write_text("app\n")
    app = f"{registry}/conformance/app25:1"
    build(ws, registry, run, app)
    first = pull(app).digest
    (ws.app / "main.txt").touch()
    assert ws.run("exporter", app).code == 0
    image = pull(app)
    assert image.digest == first
    assert image.created == "1980-01-01T00:00:01Z"
    base_count = len(busybox_base.layers)
    deps = members(image, base_count)
    assert {m.mtime for m in deps} == {315532801}
    files = [m for m in deps if m.name.endswith("deps/file")]
    assert [(m.uid, m.gid) for m in files] == [(CNB_UID, CNB_GID)]
    parent = next(m for m in deps if m.name == str(ws.root).lstrip("/"))
    assert (parent.uid, parent.gid) == (0, 0)  # the real owner of a parent dir
    launcher = next(
        m
        for layer in range(len(image.layers))
        for m in members(image, layer)
        if m.name == "cnb/lifecycle/launcher"
    )
    assert (launcher.uid, launcher.gid, launcher.mode) == (0, 0, 0o755)
    assert ws.run("exporter", app, env={"SOURCE_DATE_EPOCH": "1700000000"}).code == 0
    assert pull(app).created == "2023-11-14T22:13:20Z"


def test_case_26_slices(ws: Workspace, registry: str, busybox_base: Image) -> None:
    run = push_run_image(registry, busybox_base, "run26:1")
    slices = '[[slices]]\npaths = ["static/*"]\n[[slices]]\npaths = ["*.txt"]\n'
    ws.buildpack("a", build=launch_toml(WEB, slices))
    ws.order([[("a", "1.0.0", False)]])
    (ws.app / "static").mkdir()
    (ws.app / "static" / "style.css").write_text("css")
    (ws.app / "notes.txt").write_text("txt")
    (ws.app / "main.py").write_text("py")
    app = f"{registry}/conformance/app26:1"
    build(ws, registry, run, app)
    image = pull(app)
    metadata = json.loads(image.label("io.buildpacks.lifecycle.metadata") or "{}")
    app_shas = [entry["sha"] for entry in metadata["app"]]
    assert len(app_shas) == 3
    positions = [image.diff_ids.index(sha) for sha in app_shas]
    assert positions == sorted(positions)
    files = [
        sorted(m.name.rsplit("/", 1)[-1] for m in members(image, p) if m.isfile())
        for p in positions
    ]
    assert files == [["style.css"], ["notes.txt"], ["main.py"]]


def test_case_27_launch_layer_reuse(ws: Workspace, registry: str, busybox_base: Image) -> None:
    run = push_run_image(registry, busybox_base, "run27:1")
    ws.buildpack("a", build=layer("keep", "launch = true"))
    ws.order([[("a", "1.0.0", False)]])
    app = f"{registry}/conformance/app27:1"
    build(ws, registry, run, app)
    first = json.loads(pull(app).label("io.buildpacks.lifecycle.metadata") or "{}")
    sha = first["buildpacks"][0]["layers"]["keep"]["sha"]
    metadata_only = (
        'printf \'[types]\\nlaunch = true\\n[metadata]\\nname = "again"\\n\' > "$1/keep.toml"'
    )
    ws.buildpack("a", build=metadata_only)
    shutil.rmtree(ws.layers / "a", ignore_errors=True)
    build(ws, registry, run, app)
    second = pull(app)
    md = json.loads(second.label("io.buildpacks.lifecycle.metadata") or "{}")
    assert md["buildpacks"][0]["layers"]["keep"] == {
        "sha": sha,
        "data": {"name": "again"},
        "build": False,
        "launch": True,
        "cache": False,
    }
    assert sha in second.diff_ids
    fresh = f"{registry}/conformance/app27-new:1"
    assert ws.run("analyzer", "-run-image", run, fresh).code == 0
    assert ws.run("builder").code == 0
    failed = ws.run("exporter", fresh)
    assert failed.code == 62
    assert "previous image has no metadata for layer" in failed.err
    ws.buildpack("a", build="printf '[types]\\nlaunch = true\\ncache = true\\n' > \"$1/keep.toml\"")
    assert ws.run("builder").code == 0
    assert ws.run("analyzer", "-run-image", run, app).code == 0
    cached = ws.run("exporter", app)
    assert cached.code == 62
    assert "cache=true but has no contents" in cached.err


def _restore_fixture(ws: Workspace) -> str:
    return "\n".join((
        layer("L", "launch = true"),
        layer("C", "cache = true"),
        layer("B", "build = true"),
        layer("LC", "launch = true\\ncache = true"),
        "printf '[metadata]\\nruns = 1\\n' > \"$1/store.toml\"",
    ))  # fmt: skip


def test_case_28_and_29_restore_table_and_volume_cache(
    ws: Workspace, registry: str, busybox_base: Image
) -> None:
    run = push_run_image(registry, busybox_base, "run28:1")
    ws.buildpack("a", build=_restore_fixture(ws))
    ws.order([[("a", "1.0.0", False)]])
    cache = ws.root / "home" / "cache"
    app = f"{registry}/conformance/app28:1"
    build(ws, registry, run, app, "-cache-dir", str(cache))
    committed = cache / "committed"
    cache_md = json.loads((committed / "io.buildpacks.lifecycle.cache.metadata").read_text())
    cached = cache_md["buildpacks"][0]["layers"]
    assert sorted(cached) == ["C", "LC"]
    assert all(entry["cache"] for entry in cached.values())
    for entry in cached.values():
        assert (committed / f"{entry['sha']}.tar").is_file()
    assert not (cache / "staging").exists()
    inode = (committed / f"{cached['C']['sha']}.tar").stat().st_ino
    # build 2: fresh layers dir, then analyze + restore
    shutil.rmtree(ws.layers / "a")
    assert ws.run("analyzer", "-run-image", run, app).code == 0
    assert ws.run("restorer", "-cache-dir", str(cache)).code == 0
    a = ws.layers / "a"
    assert (a / "L.toml").is_file()
    assert not (a / "L").exists()
    assert "types" not in tomllib.loads((a / "L.toml").read_text())
    assert (a / "C" / "file").read_text() == "x\n"
    assert (a / "LC" / "file").read_text() == "x\n"
    assert not (a / "B.toml").exists()
    assert not (a / "B").exists()
    assert tomllib.loads((a / "store.toml").read_text()) == {"metadata": {"runs": 1}}
    # an unchanged second export reuses the cache tars (same inode: hard-linked, not rewritten)
    assert ws.run("builder").code == 0
    assert ws.run("exporter", "-cache-dir", str(cache), app).code == 0
    assert (committed / f"{cached['C']['sha']}.tar").stat().st_ino == inode
    # a corrupt cache tar: no contents are restored
    (committed / f"{cached['C']['sha']}.tar").write_bytes(b"not a tar at all" * 64)
    shutil.rmtree(ws.layers / "a")
    assert ws.run("analyzer", "-run-image", run, app).code == 0
    restored = ws.run("restorer", "-cache-dir", str(cache))
    assert restored.code == 0
    assert not (a / "C" / "file").exists()
    assert "Failed to restore layer 'C'" in restored.err


def test_case_34_rebase(ws: Workspace, registry: str, busybox_base: Image) -> None:
    run = push_run_image(registry, busybox_base, "run34:1", extra="old")
    ws.buildpack("a", build=launch_toml(WEB) + "\n" + layer("deps", "launch = true"))
    ws.order([[("a", "1.0.0", False)]])
    app = f"{registry}/conformance/app34:1"
    build(ws, registry, run, app)
    before = pull(app)
    new_base = busybox_base.copy()
    new_base.set_env("NEW_BASE", "yes")
    path = ws.root / "home" / "patch.tar"
    new_base.add_layer(path, write_layer_file(path, lambda w: w.add_bytes("etc/patched", b"1")))
    push_run_image(
        registry, new_base, "run34:1", extra="new"
    )  # same name: a new version of the run image
    rebased = ws.run("rebaser", "-report", str(ws.layers / "rebase.toml"), app)
    assert rebased.code == 0, rebased.text
    after = pull(app)
    old_top = json.loads(before.label("io.buildpacks.lifecycle.metadata") or "{}")["runImage"][
        "topLayer"
    ]
    md = json.loads(after.label("io.buildpacks.lifecycle.metadata") or "{}")
    assert md["runImage"]["topLayer"] == new_base.top_layer != old_top
    assert after.diff_ids[: len(new_base.layers)] == new_base.diff_ids
    app_layers = before.diff_ids[before.diff_ids.index(old_top) + 1 :]
    assert after.diff_ids[len(new_base.layers) :] == app_layers
    assert after.label("io.buildpacks.base.maintainer") == "new"
    assert tomllib.loads((ws.layers / "rebase.toml").read_text())["image"]["digest"] == after.digest
    other = push_run_image(registry, new_base, "elsewhere:1")
    refused = ws.run("rebaser", "-run-image", other, app)
    assert refused.code == 72
    assert "is not the app image's run image" in refused.err
    arm = push_run_image(registry, new_base, "run34:1", arch="arm64")
    mismatch = ws.run("rebaser", "-run-image", arm, app)
    assert mismatch.code == 72
    assert "unable to satisfy target os/arch constraints" in mismatch.err
    not_rebasable = before.copy()
    not_rebasable.set_label("io.buildpacks.rebasable", "false")
    RegistryImageStore().save(not_rebasable, [f"{registry}/conformance/app34:locked"])
    locked = ws.run("rebaser", f"{registry}/conformance/app34:locked")
    assert locked.code == 72
    assert "not marked as rebasable" in locked.err
