"""Bad input, one case at a time, through the real ``pypack`` CLI: every CNB file a person or a
buildpack writes, the build's flag values, image references, and manifests, configs and layer
tars a registry serves. Each case must end in one ``ERROR:`` line that names the file or value,
the key and what to do, with the CNB exit code, no traceback, and nothing left behind: no new
image name, no new registry tag, and the image built before (and its cache) untouched."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pypack.errors import ExitCode
from pypack.oci import mediatypes
from pypack.oci.digest import sha256_of
from pypack.oci.models import RawDocument
from pypack.oci.registry import RegistryClient
from pypack.pack.home import Home
from pypack.pack.images import local_name
from tests.e2e.busybox_stack import Stack, stack

__all__ = ["stack"]

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PREVIOUS = "bad/prev:1"
BUILDER = "test/builder:1"
GENERIC = ExitCode.GENERIC
BUILD = ExitCode.BUILD
BP_API = ExitCode.INCOMPATIBLE_BUILDPACK_API


@dataclass
class World:
    """The module's home with a good image built once, and the registry cases push to."""

    stack: Stack
    registry: str
    app: Path
    client: RegistryClient
    counter: list[int] = field(default_factory=lambda: [0])

    def case_dir(self) -> Path:
        self.counter[0] += 1
        directory = self.stack.root / "cases" / str(self.counter[0])
        directory.mkdir(parents=True)
        directory.chmod(0o755)
        return directory

    def build(self, *args: str) -> list[str]:
        return ["build", PREVIOUS, "--path", str(self.app), "--builder", BUILDER, *args]


@dataclass
class Case:
    """``setup`` writes what the case needs into a fresh directory and returns pypack's
    arguments and the substrings the error line must hold; ``leftovers`` are paths (relative to
    that directory) that must not exist afterwards."""

    id: str
    setup: Callable[[World, Path], tuple[list[str], list[str]]]
    code: int = GENERIC
    leftovers: tuple[str, ...] = ()


CASES: list[Case] = []


def case(
    case_id: str, code: int = GENERIC, leftovers: tuple[str, ...] = ()
) -> Callable[
    [Callable[[World, Path], tuple[list[str], list[str]]]],
    Callable[[World, Path], tuple[list[str], list[str]]],
]:
    def register(
        setup: Callable[[World, Path], tuple[list[str], list[str]]],
    ) -> Callable[[World, Path], tuple[list[str], list[str]]]:
        CASES.append(Case(case_id, setup, code, leftovers))
        return setup

    return register


# --- files a person writes ------------------------------------------------------------------

DETECT = "#!/bin/sh\n[ -f hello.txt ] || exit 100\n"
GOOD_BP = 'api = "0.10"\n[buildpack]\nid = "bad/bp"\nversion = "0.1.0"\n'


def buildpack_dir(directory: Path, descriptor: bytes | str, build: str = "#!/bin/sh\n") -> Path:
    bp = directory / "bp"
    (bp / "bin").mkdir(parents=True)
    data = descriptor.encode() if isinstance(descriptor, str) else descriptor
    (bp / "buildpack.toml").write_bytes(data)
    (bp / "bin" / "detect").write_text(DETECT)
    (bp / "bin" / "build").write_text(build)
    for script in (bp / "bin").iterdir():
        script.chmod(0o755)
    for path in (directory, bp, bp / "bin"):
        path.chmod(0o755)
    return bp


def buildpack_toml_case(
    case_id: str, text: bytes | str, *expect: str, code: int = GENERIC, names_file: bool = True
) -> None:
    def setup(world: World, directory: Path) -> tuple[list[str], list[str]]:
        bp = buildpack_dir(directory, text)
        file = [f"{bp}/buildpack.toml"] if names_file else []
        return world.build("--buildpack", str(bp)), [*file, *expect]

    CASES.append(Case(f"buildpack.toml-{case_id}", setup, code))


buildpack_toml_case("not-toml", "api = \n[buildpack\n", "TOML")
buildpack_toml_case("no-id", 'api = "0.10"\n[buildpack]\nversion = "1"\n', "buildpack.id")
buildpack_toml_case(
    "api-unsupported",
    'api = "0.99"\n[buildpack]\nid = "bad/bp"\nversion = "1"\n',
    "bad/bp",
    "API",
    "0.99",
    code=BP_API,
    names_file=False,  # the reference lifecycle's words, naming the buildpack
)
buildpack_toml_case(
    "bad-id", 'api = "0.10"\n[buildpack]\nid = ".."\nversion = "1"\n', "buildpack.id"
)
buildpack_toml_case(
    "version-not-string", 'api = "0.10"\n[buildpack]\nid = "bad/bp"\nversion = 1\n', "version"
)
buildpack_toml_case("no-api", '[buildpack]\nid = "bad/bp"\nversion = "1"\n', "api")
buildpack_toml_case("not-utf8", b'api = "0.10"\n# \xff\xfe\n', "UTF-8")
buildpack_toml_case("stack-without-id", GOOD_BP + "[[stacks]]\nmixins = []\n", "stacks", "id")
buildpack_toml_case("target-os-not-string", GOOD_BP + "[[targets]]\nos = 5\n", "targets", "os")
buildpack_toml_case("buildpack-not-table", 'api = "0.10"\nbuildpack = "bad/bp"\n', "buildpack")


@case("buildpack.toml-missing")
def _missing_buildpack_toml(world: World, directory: Path) -> tuple[list[str], list[str]]:
    bp = buildpack_dir(directory, GOOD_BP)
    (bp / "buildpack.toml").unlink()
    return world.build("--buildpack", str(bp)), [str(bp), "buildpack.toml"]


GOOD_BUILDER_BODY = """
[[buildpacks]]
uri = "{bps}/test_hello"
[[order]]
[[order.group]]
id = "test/hello"
[build]
image = "example.com/stacks/build:1"
[[run.images]]
image = "example.com/stacks/run:1"
"""


def builder_toml_case(case_id: str, text: str, *expect: str, code: int = GENERIC) -> None:
    def setup(world: World, directory: Path) -> tuple[list[str], list[str]]:
        path = directory / "builder.toml"
        path.write_text(text.replace("{bps}", str(world.stack.root / "buildpacks")))
        argv = ["builder", "create", "bad/builder:1", "--config", str(path)]
        return argv, [str(path), *expect]

    CASES.append(Case(f"builder.toml-{case_id}", setup, code))


builder_toml_case("not-toml", "[[buildpacks]\nuri = ", "TOML")
builder_toml_case(
    "no-build-image",
    GOOD_BUILDER_BODY.replace('[build]\nimage = "example.com/stacks/build:1"\n', ""),
    "build.image",
)
builder_toml_case(
    "buildpack-uri-missing",
    GOOD_BUILDER_BODY.replace("test_hello", "no_such_bp"),
    "no_such_bp",
)
builder_toml_case(
    "order-unknown-id",
    GOOD_BUILDER_BODY.replace('id = "test/hello"', 'id = "test/nobody"'),
    "test/nobody",
)
builder_toml_case(
    "run-image-empty",
    GOOD_BUILDER_BODY.replace('image = "example.com/stacks/run:1"', 'image = ""'),
    "run.images",
)
builder_toml_case(
    "build-image-bad-reference",
    GOOD_BUILDER_BODY.replace("example.com/stacks/build:1", "Example.com/UPPER/Build::1"),
    "build.image",
    "UPPER",
)
builder_toml_case(
    "lifecycle-version-not-string",
    GOOD_BUILDER_BODY + "[lifecycle]\nversion = 3\n",
    "lifecycle.version",
)
builder_toml_case(
    "target-arch-not-string",
    GOOD_BUILDER_BODY + '[[targets]]\nos = "linux"\narch = 3\n',
    "targets",
    "arch",
)
builder_toml_case(
    "group-version-not-string",
    GOOD_BUILDER_BODY.replace('id = "test/hello"', 'id = "test/hello"\nversion = 1'),
    "order",
    "version",
)
builder_toml_case(
    "buildpacks-not-list",
    GOOD_BUILDER_BODY.replace('[[buildpacks]]\nuri = "{bps}/test_hello"', 'buildpacks = "x"'),
    "buildpacks",
)


@case("builder.toml-missing")
def _missing_builder_toml(world: World, directory: Path) -> tuple[list[str], list[str]]:
    path = directory / "nope" / "builder.toml"
    return ["builder", "create", "bad/builder:1", "--config", str(path)], [str(path)]


def project_toml_case(case_id: str, text: str, *expect: str, code: int = GENERIC) -> None:
    def setup(world: World, directory: Path) -> tuple[list[str], list[str]]:
        path = directory / "project.toml"
        path.write_text(text)
        return world.build("--descriptor", str(path)), [str(path), *expect]

    CASES.append(Case(f"project.toml-{case_id}", setup, code))


V2 = '[_]\nschema-version = "0.2"\n'
project_toml_case("not-toml", "[_\nschema-version = ", "TOML")
project_toml_case("schema-unknown", '[_]\nschema-version = "9.9"\n', "schema-version", "9.9")
project_toml_case(
    "env-without-value",
    V2 + '[[io.buildpacks.build.env]]\nname = "A"\nvalue = 3\n',
    "io.buildpacks.build.env",
    "value",
)
project_toml_case(
    "env-bad-name",
    V2 + '[[io.buildpacks.build.env]]\nname = "A=B"\nvalue = "x"\n',
    "io.buildpacks.build.env",
    "name",
)
project_toml_case(
    "group-entry-empty",
    V2 + "[[io.buildpacks.group]]\n",
    "io.buildpacks.group",
)
project_toml_case(
    "exclude-not-list", V2 + '[io.buildpacks]\nexclude = "*.log"\n', "io.buildpacks.exclude"
)
project_toml_case(
    "include-and-exclude",
    V2 + '[io.buildpacks]\ninclude = ["a"]\nexclude = ["b"]\n',
    "include",
    "exclude",
)
project_toml_case("builder-not-string", V2 + "[io.buildpacks]\nbuilder = 3\n", "builder")
project_toml_case("id-not-string", V2 + "id = 3\n", "id")


@case("project.toml-missing")
def _missing_project_toml(world: World, directory: Path) -> tuple[list[str], list[str]]:
    path = directory / "project.toml"
    return world.build("--descriptor", str(path)), [str(path), "--descriptor"]


def package_toml_case(case_id: str, text: str, *expect: str, code: int = GENERIC) -> None:
    def setup(world: World, directory: Path) -> tuple[list[str], list[str]]:
        buildpack_dir(directory, GOOD_BP)
        path = directory / "package.toml"
        path.write_text(text.replace("{bp}", str(directory / "bp")))
        out = directory / "out.cnb"
        argv = ["buildpack", "package", str(out), "--config", str(path), "--format", "file"]
        return argv, [str(path), *expect]

    CASES.append(
        Case(f"package.toml-{case_id}", setup, code, leftovers=("out.cnb", "out.cnb.partial"))
    )


package_toml_case("not-toml", "[buildpack\nuri = ", "TOML")
package_toml_case("no-uri", "[buildpack]\n", "buildpack.uri")
package_toml_case("uri-missing", '[buildpack]\nuri = "{bp}-nope"\n', "bp-nope")
package_toml_case(
    "dependency-missing",
    '[buildpack]\nuri = "{bp}"\n[[dependencies]]\nuri = "{bp}-dep-nope"\n',
    "bp-dep-nope",
)
package_toml_case("os-unknown", '[buildpack]\nuri = "{bp}"\n[platform]\nos = "plan9"\n', "os")
package_toml_case("buildpack-not-table", 'buildpack = "x"\n', "buildpack")


# --- files a buildpack writes during the build ---------------------------------------------


def written_case(case_id: str, relative: str, text: str, *expect: str, code: int = BUILD) -> None:
    script = (
        '#!/bin/sh\nset -e\nmkdir -p "$CNB_LAYERS_DIR/tools"\n'
        f"cat > \"$CNB_LAYERS_DIR/{relative}\" <<'EOF'\n{text}EOF\n"
    )

    def setup(world: World, directory: Path) -> tuple[list[str], list[str]]:
        bp = buildpack_dir(directory, GOOD_BP, script)
        return world.build("--buildpack", str(bp)), [relative, "bad/bp", *expect]

    CASES.append(Case(f"{relative}-{case_id}", setup, code))


written_case("not-toml", "launch.toml", "[[processes]\ntype = \n", "TOML")
written_case(
    "type-with-slash",
    "launch.toml",
    '[[processes]]\ntype = "we/b"\ncommand = ["x"]\n',
    "type",
    "we/b",
    code=ExitCode.EXPORT,  # the reference's exporter refuses it, not its builder
)
written_case(
    "command-not-list",
    "launch.toml",
    '[[processes]]\ntype = "web"\ncommand = 5\n',
    "command",
)
written_case(
    "two-defaults",
    "launch.toml",
    '[[processes]]\ntype = "a"\ncommand = ["x"]\ndefault = true\n'
    '[[processes]]\ntype = "b"\ncommand = ["y"]\ndefault = true\n',
    "default",
)
written_case("label-key-not-string", "launch.toml", "[[labels]]\nkey = 5\n", "labels", "key")
written_case("slices-not-list", "launch.toml", 'slices = "x"\n', "slices")
written_case("not-toml", "tools.toml", "[types\nlaunch = \n", "TOML")
written_case("launch-not-bool", "tools.toml", '[types]\nlaunch = "yes"\n', "types.launch")
written_case("metadata-not-table", "tools.toml", "metadata = 5\n", "metadata")
written_case("types-not-table", "tools.toml", "types = 1\n", "types")


# --- env files and flag values --------------------------------------------------------------


def env_file_case(case_id: str, data: bytes | None, *expect: str) -> None:
    def setup(world: World, directory: Path) -> tuple[list[str], list[str]]:
        path = directory / "build.env"
        if data is not None:
            path.write_bytes(data)
        return world.build("--env-file", str(path)), ["--env-file", str(path), *expect]

    CASES.append(Case(f"env-file-{case_id}", setup))


env_file_case("missing", None, "cannot read")
env_file_case("bad-name", b"GOOD=1\n1BAD=x\n", "line 2", "1BAD")
env_file_case("unset-name", b"PYPACK_SURELY_UNSET_NAME\n", "PYPACK_SURELY_UNSET_NAME")
env_file_case("not-utf8", b"A=\xff\xfe\n", "UTF-8")
env_file_case("dash-in-name", b"MY-VAR=1\n", "MY-VAR")


@case("env-file-directory")
def _env_file_directory(world: World, directory: Path) -> tuple[list[str], list[str]]:
    return world.build("--env-file", str(directory)), ["--env-file", str(directory)]


def flag_case(case_id: str, flags: list[str], *expect: str, code: int = GENERIC) -> None:
    def setup(world: World, directory: Path) -> tuple[list[str], list[str]]:
        given = [f.replace("{dir}", str(directory)) for f in flags]
        return world.build(*given), [e.replace("{dir}", str(directory)) for e in expect]

    CASES.append(Case(f"flag-{case_id}", setup, code))


flag_case("env-no-name", ["--env", "=value"], "--env", "=value")
flag_case("env-bad-name", ["--env", "BAD-NAME=1"], "--env", "BAD-NAME")
flag_case("env-unset", ["--env", "PYPACK_SURELY_UNSET_NAME"], "--env", "PYPACK_SURELY_UNSET")
flag_case("volume-no-target", ["--volume", "{dir}"], "--volume", "{dir}")
flag_case("volume-host-missing", ["--volume", "{dir}/nope:/data"], "--volume", "{dir}/nope")
flag_case("volume-bad-mode", ["--volume", "{dir}:/data:bogus"], "--volume", "bogus")
flag_case("volume-relative-target", ["--volume", "{dir}:data"], "--volume", "data")
flag_case("volume-over-sandbox", ["--volume", "{dir}:/cnb"], "--volume", "/cnb")
flag_case("buildpack-unknown-id", ["--buildpack", "bad/nobody@9.9"], "bad/nobody")
flag_case("buildpack-missing-path", ["--buildpack", "{dir}/nope.cnb"], "{dir}/nope.cnb")
flag_case("creation-time", ["--creation-time", "yesterday"], "--creation-time", "yesterday")


@case("flag-buildpack-garbage-cnb")
def _garbage_cnb(world: World, directory: Path) -> tuple[list[str], list[str]]:
    path = directory / "bp.cnb"
    path.write_bytes(b"this is not a tar\n" * 40)
    return world.build("--buildpack", str(path)), [str(path), ".cnb"]


@case("flag-buildpack-garbage-tgz")
def _garbage_tgz(world: World, directory: Path) -> tuple[list[str], list[str]]:
    path = directory / "bp.tgz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage" * 20)
    return world.build("--buildpack", str(path)), [str(path)]


# --- image references -----------------------------------------------------------------------


def reference_case(case_id: str, argv: list[str], *expect: str) -> None:
    def setup(world: World, directory: Path) -> tuple[list[str], list[str]]:
        builder = str(world.stack.root / "builder.toml")
        return [a.replace("{app}", str(world.app)).replace("{builder}", builder) for a in argv], [
            *expect
        ]

    CASES.append(Case(f"reference-{case_id}", setup))


APP = ["--path", "{app}", "--builder", BUILDER]
reference_case("uppercase-repo", ["build", "bad/UPPER:1", *APP], "bad/UPPER:1")
reference_case("space", ["build", "bad/a b:1", *APP], "bad/a b:1")
reference_case("two-tags", ["build", "bad/app:1:2", *APP], "bad/app:1:2")
reference_case("bad-digest", ["build", "bad/app@sha256:123", *APP], "sha256:123")
reference_case("builder", ["build", PREVIOUS, "--path", "{app}", "--builder", "::bad"], "::bad")
reference_case("run-image", ["build", PREVIOUS, *APP, "--run-image", "Bad!"], "--run-image", "Bad!")
reference_case("tag", ["build", PREVIOUS, *APP, "--tag", "bad/x:a b"], "--tag", "bad/x:a b")
reference_case(
    "previous-image", ["build", PREVIOUS, *APP, "--previous-image", "x::y"], "--previous-image"
)
reference_case(
    "builder-create-name", ["builder", "create", "Bad Name", "--config", "{builder}"], "Bad Name"
)


# --- what a registry serves -----------------------------------------------------------------


def blob(world: World, repository: str, data: bytes) -> dict[str, Any]:
    digest = sha256_of(data)
    world.client.upload_blob(repository, lambda: io.BytesIO(data), digest, len(data))
    return {"mediaType": "", "digest": digest, "size": len(data)}


def push_manifest(world: World, repository: str, tag: str, manifest: dict[str, Any]) -> None:
    raw = json.dumps(manifest).encode()
    media_type = manifest["mediaType"]
    world.client.put_manifest(repository, tag, RawDocument(raw, media_type, sha256_of(raw)))


def delete_blob(world: World, repository: str, digest: str) -> None:
    url = f"http://{world.registry}/v2/{repository}/blobs/{digest}"
    with urllib.request.urlopen(urllib.request.Request(url, method="DELETE")) as answer:
        assert answer.status == 202


def image_config(labels: dict[str, str], diff_ids: list[str]) -> bytes:
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Env": ["PATH=/bin", "CNB_USER_ID=1000", "CNB_GROUP_ID=1000"],
                "Labels": labels,
            },
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()


def push_image(
    world: World,
    repository: str,
    config: bytes,
    layers: list[bytes],
    *,
    config_size: int | None = None,
) -> dict[str, Any]:
    """An image manifest of ``config`` and uncompressed ``layers``; returns the manifest."""
    config_desc = blob(world, repository, config)
    config_desc["mediaType"] = mediatypes.OCI_CONFIG
    if config_size is not None:
        config_desc["size"] = config_size
    layer_descs = []
    for layer in layers:
        desc = blob(world, repository, layer)
        desc["mediaType"] = mediatypes.OCI_LAYER
        layer_descs.append(desc)
    manifest = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": config_desc,
        "layers": layer_descs,
    }
    push_manifest(world, repository, "1", manifest)
    return manifest


def tar_of(entries: list[tuple[str, str, str]]) -> bytes:
    """A tar of (kind, name, content-or-link) entries; kind is file, dir, sym or link."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, value in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.LNKTYPE, value
                tar.addfile(info)
            else:
                data = value.encode()
                info.size, info.mode = len(data), 0o755
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


BP_BASE = "cnb/buildpacks/bad_tar/0.1.0"


def package_labels(diff_id: str) -> dict[str, str]:
    layers = {"bad/tar": {"0.1.0": {"api": "0.10", "layerDiffID": diff_id}}}
    return {
        "io.buildpacks.buildpack.layers": json.dumps(layers),
        "io.buildpacks.buildpackage.metadata": json.dumps({"id": "bad/tar", "version": "0.1.0"}),
    }


def tar_case(case_id: str, entries: list[tuple[str, str, str]], *expect: str) -> None:
    def setup(world: World, directory: Path) -> tuple[list[str], list[str]]:
        repository = f"bad/tar-{case_id}"
        layer = tar_of(
            [
                ("dir", "cnb", ""),
                ("dir", "cnb/buildpacks", ""),
                ("dir", "cnb/buildpacks/bad_tar", ""),
                ("dir", BP_BASE, ""),
                ("file", f"{BP_BASE}/buildpack.toml", GOOD_BP.replace("bad/bp", "bad/tar")),
                *entries,
            ]
        )
        diff_id = sha256_of(layer)
        push_image(world, repository, image_config(package_labels(diff_id), [diff_id]), [layer])
        ref = f"{world.registry}/{repository}:1"
        return world.build("--buildpack", f"docker://{ref}"), [ref, *expect]

    CASES.append(Case(f"registry-tar-{case_id}", setup))


tar_case("dotdot", [("file", f"{BP_BASE}/../../../../../escape", "x")], "../escape")
tar_case("absolute-name", [("file", f"/{BP_BASE}/bin/x", "x")], "bin/x")
tar_case(
    "absolute-symlink-then-file",
    [("sym", f"{BP_BASE}/etc", "/etc"), ("file", f"{BP_BASE}/etc/pypack-escape", "x")],
    "etc",
)
tar_case(
    "relative-symlink-escape",
    [("sym", f"{BP_BASE}/up", "../../../../.."), ("file", f"{BP_BASE}/up/escape", "x")],
    "up",
)
tar_case("hardlink-outside", [("link", f"{BP_BASE}/passwd", "/etc/passwd")], "passwd")


@case("registry-tar-not-a-tar")
def _layer_not_tar(world: World, directory: Path) -> tuple[list[str], list[str]]:
    repository = "bad/tar-garbage"
    layer = b"definitely not a tar archive\n" * 50
    diff_id = sha256_of(layer)
    push_image(world, repository, image_config(package_labels(diff_id), [diff_id]), [layer])
    ref = f"{world.registry}/{repository}:1"
    return world.build("--buildpack", f"docker://{ref}"), [ref, "tar"]


def registry_builder_case(
    case_id: str,
    make: Callable[[World, str], None],
    *expect: str,
    flag: str = "--builder",
    code: int = GENERIC,
    names_image: bool = True,
) -> None:
    def setup(world: World, directory: Path) -> tuple[list[str], list[str]]:
        repository = f"bad/{flag.strip('-')}-{case_id}"
        make(world, repository)
        ref = f"{world.registry}/{repository}:1"
        argv = ["build", PREVIOUS, "--path", str(world.app), "--builder", BUILDER]
        if flag == "--builder":
            argv = ["build", PREVIOUS, "--path", str(world.app)]
        # a missing blob is named by repository and digest, not by the image's reference
        named = ref if names_image else repository
        return [*argv, flag, ref], [named, *expect]

    CASES.append(Case(f"registry-{flag.strip('-')}-{case_id}", setup, code))


def _config_not_json(world: World, repository: str) -> None:
    push_image(world, repository, b"this is not json", [])


def _config_missing(world: World, repository: str) -> None:
    manifest = push_image(world, repository, image_config({}, []), [])
    delete_blob(world, repository, manifest["config"]["digest"])


def _layer_missing(world: World, repository: str) -> None:
    layer = tar_of([("file", "x", "x")])
    manifest = push_image(world, repository, image_config({}, [sha256_of(layer)]), [layer])
    delete_blob(world, repository, manifest["layers"][0]["digest"])


def _no_builder_label(world: World, repository: str) -> None:
    push_image(world, repository, image_config({}, []), [])


def _builder_label_not_json(world: World, repository: str) -> None:
    push_image(world, repository, image_config({"io.buildpacks.builder.metadata": "{x"}, []), [])


def _config_size_wrong(world: World, repository: str) -> None:
    push_image(world, repository, image_config({}, []), [], config_size=3)


def _diff_ids_short(world: World, repository: str) -> None:
    layer = tar_of([("file", "x", "x")])
    push_image(world, repository, image_config({}, []), [layer])


def _config_json_list(world: World, repository: str) -> None:
    push_image(world, repository, b"[1, 2, 3]", [])


def _index_no_platform(world: World, repository: str) -> None:
    config = json.dumps(
        {"architecture": "s390x", "os": "plan9", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    manifest = push_image(world, repository, config, [])
    raw = json.dumps(manifest).encode()
    index = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_INDEX,
        "manifests": [
            {
                "mediaType": mediatypes.OCI_MANIFEST,
                "digest": sha256_of(raw),
                "size": len(raw),
                "platform": {"os": "plan9", "architecture": "s390x"},
            }
        ],
    }
    push_manifest(world, repository, "1", index)


registry_builder_case("config-not-json", _config_not_json, "config")
registry_builder_case("config-missing", _config_missing, "config")
registry_builder_case("layer-missing", _layer_missing, "push that image again", names_image=False)
registry_builder_case("no-builder-label", _no_builder_label, "not a CNB builder")
registry_builder_case("builder-label-not-json", _builder_label_not_json, "not a CNB builder")
registry_builder_case("config-size-wrong", _config_size_wrong, "config")
registry_builder_case("config-json-list", _config_json_list, "config")
registry_builder_case("index-no-platform", _index_no_platform, "linux/amd64")
registry_builder_case("not-there", lambda world, repository: None, "not found")
# the analyzer reads the run image: the reference's analyzer exits 32 for it
ANALYZE = ExitCode.ANALYZE
registry_builder_case(
    "config-not-json", _config_not_json, "config", flag="--run-image", code=ANALYZE
)
registry_builder_case("diff-ids-short", _diff_ids_short, "diff", flag="--run-image", code=ANALYZE)
registry_builder_case("config-missing", _config_missing, "BLOB", flag="--run-image", code=ANALYZE)


# --- the checks -----------------------------------------------------------------------------


def tree_digest(root: Path) -> str:
    """Every path, mode, link target and file content under ``root``."""
    digest = hashlib.sha256()
    if not root.exists():
        return "absent"
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest.update(f"{path.relative_to(root)}\0{info.st_mode:o}\0".encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def registry_tags(registry: str) -> dict[str, list[str]]:
    with urllib.request.urlopen(f"http://{registry}/v2/_catalog?n=1000") as answer:
        repositories = json.load(answer)["repositories"]
    result = {}
    for repository in repositories:
        try:
            with urllib.request.urlopen(f"http://{registry}/v2/{repository}/tags/list") as answer:
                result[repository] = sorted(json.load(answer).get("tags") or [])
        except urllib.error.HTTPError as error:  # blobs pushed, never a manifest: no tags
            if error.code != 404:
                raise
            result[repository] = []
    return result


@dataclass(frozen=True)
class Snapshot:
    names: tuple[str, ...]
    previous: str
    cache: str
    builds: tuple[str, ...]
    tags: dict[str, list[str]]

    @classmethod
    def take(cls, world: World) -> Snapshot:
        home = Home(world.stack.home)
        previous = home.images.resolve(local_name(PREVIOUS))
        assert previous is not None
        builds = sorted(p.name for p in home.builds.iterdir()) if home.builds.is_dir() else []
        return cls(
            tuple(sorted(home.images.names())),
            previous.digest,
            tree_digest(home.cache_for(PREVIOUS)),
            tuple(builds),
            registry_tags(world.registry),
        )


@pytest.fixture(scope="module")
def world(stack: Stack, registry: str) -> World:
    app = stack.app("bad-input-app")
    stack.pypack("build", PREVIOUS, "--path", str(app), "--builder", BUILDER)
    assert any(Home(stack.home).cache_for(PREVIOUS).rglob("*")), "the good build left no cache"
    return World(stack, registry, app, RegistryClient(registry))


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_leaves_nothing(world: World, bad: Case) -> None:
    directory = world.case_dir()
    argv, expect = bad.setup(world, directory)
    before = Snapshot.take(world)
    done = world.stack.pypack(*argv, check=False)
    shown = f"pypack {' '.join(argv)}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr, shown
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, shown
    message = errors[0]
    assert message.startswith("ERROR: "), shown
    assert done.stderr.rstrip("\n").splitlines()[-1] == message, shown  # nothing after it
    for part in expect:
        assert part in message, f"{part!r} not in the error\n{shown}"
    assert done.returncode == bad.code, shown
    assert Snapshot.take(world) == before, shown
    for leftover in bad.leftovers:
        assert not (directory / leftover).exists(), f"{leftover} left behind\n{shown}"


def test_there_are_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60
