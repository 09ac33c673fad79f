"""In the daemonless platform a buildpack sees only its build: not the user's home, the docker
config, the pypack home or the host's processes; it writes only where the build mounts; it has
no network unless asked. Registry credentials (docker config, a credential helper,
``CNB_REGISTRY_AUTH``) and binding secrets reach no byte of what a build writes or prints."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pypack.oci.auth import Keychain
from pypack.oci.stores import LayoutImageStore, RegistryImageStore
from pypack.pack.home import Home
from pypack.pack.images import local_name
from tests.e2e.busybox_stack import Stack, stack, write_buildpack
from tests.e2e.conftest import run_pypack
from tests.integration.registries import PASSWORD, USER, htpasswd_auth, registry_process

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
__all__ = ["stack"]

BINDING_SECRET = "binding-t0ken-9f8e7d6c"
# Each probe prints "PROBE <name> ok" when the sandbox let it through, "PROBE <name> no" if not.
PROBE_BUILD = """#!/bin/sh
env_dir="$CNB_PLATFORM_DIR/env"
probe() {
  name=$1; shift
  if "$@" >/dev/null 2>&1; then echo "PROBE $name ok"; else echo "PROBE $name no"; fi
}
probe read-user-home cat "$(cat $env_dir/HOST_HOME)/.marker"
probe read-docker-config cat "$(cat $env_dir/HOST_HOME)/.docker/config.json"
probe list-pypack-home ls "$(cat $env_dir/HOST_PYPACK_HOME)/images"
probe read-other-build cat "$(cat $env_dir/HOST_PYPACK_HOME)/builds/other/marker"
probe see-host-process test -e "/proc/$(cat $env_dir/HOST_PID)/environ"
probe many-processes sh -c '[ "$(ls /proc | busybox grep -c "^[0-9]")" -gt 20 ]'
for target in /etc/probe /cnb/probe /probe /usr/probe "$(cat $env_dir/HOST_HOME)/probe"; do
  probe "write-$target" touch "$target"
done
probe write-layers touch "$CNB_LAYERS_DIR/probe"
reg=$(cat $env_dir/HOST_REGISTRY)
probe network sh -c 'printf "GET /v2/ HTTP/1.0\\r\\n\\r\\n" | busybox nc -w 3 "$0" "$1" \\
  | busybox grep -q 200' "${reg%:*}" "${reg##*:}"
probe read-binding cat "$CNB_PLATFORM_DIR/bindings/creds/token"
mkdir -p "$CNB_LAYERS_DIR/web/bin"
printf '#!/bin/sh\\necho hi\\n' > "$CNB_LAYERS_DIR/web/bin/hi"
busybox chmod 755 "$CNB_LAYERS_DIR/web/bin/hi"
printf '[types]\\nlaunch = true\\ncache = true\\n' > "$CNB_LAYERS_DIR/web.toml"
printf '[[processes]]\\ntype = "web"\\ncommand = ["hi"]\\ndefault = true\\n' \\
  > "$CNB_LAYERS_DIR/launch.toml"
"""
EXPECTED_REFUSED = [
    "read-user-home",
    "read-docker-config",
    "list-pypack-home",
    "read-other-build",
    "see-host-process",
    "many-processes",
    "write-/etc/probe",
    "write-/cnb/probe",
    "write-/probe",
    "write-/usr/probe",
    "network",
]
EXPECTED_ALLOWED = ["write-layers", "read-binding"]


@dataclass
class Secured:
    """The busybox stack and a registry that wants USER/PASSWORD, whose files are ``storage``."""

    stack: Stack
    registry: str
    storage: Path


@pytest.fixture(scope="module")
def secured(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """The stack, a registry that wants USER/PASSWORD with the run image in it, a probing
    buildpack and a binding."""
    work = tmp_path_factory.mktemp("secured")
    with registry_process(work / "registry", htpasswd_auth(work / "registry")) as registry:
        keychain = Keychain(environ={"CNB_REGISTRY_AUTH": json.dumps({registry: basic()})})
        run = LayoutImageStore(Home(stack.home).images).load(local_name("example.com/stacks/run:1"))
        assert run is not None
        RegistryImageStore(keychain).save(run, [f"{registry}/stacks/run:1"])
        write_buildpack(stack.root / "buildpacks", "test/probe-all", PROBE_BUILD)
        binding = stack.root / "bindings" / "creds"
        binding.mkdir(parents=True)
        (binding / "type").write_text("token")
        (binding / "token").write_text(BINDING_SECRET)
        for path in (binding.parent, binding, binding / "type", binding / "token"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield Secured(stack, registry, work / "registry" / "data")


def basic() -> str:
    return "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def user_home(root: Path, registry: str, source: str) -> dict[str, str]:
    """A user's home and environment whose registry credentials come from ``source``."""
    home = root / f"user-{source}"
    (home / ".docker").mkdir(parents=True, exist_ok=True)
    (home / ".marker").write_text("the user's own file")
    env = {"HOME": str(home), "DOCKER_CONFIG": str(home / ".docker")}
    config: dict[str, object] = {}
    if source == "docker-config":
        config = {
            "auths": {registry: {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}
        }
    elif source == "helper":
        helper = home / "bin" / "docker-credential-robust"
        helper.parent.mkdir(exist_ok=True)
        answer = json.dumps({"Username": USER, "Secret": PASSWORD})
        helper.write_text(f"#!/bin/sh\ncat >/dev/null\necho '{answer}'\n")
        helper.chmod(0o755)
        config = {"credHelpers": {registry: "robust"}}
        env["PATH"] = f"{helper.parent}:{os.environ['PATH']}"
    else:
        env["CNB_REGISTRY_AUTH"] = json.dumps({registry: basic()})
    (home / ".docker" / "config.json").write_text(json.dumps(config))
    return env


def probe_build(
    stack: Stack, registry: str, env: dict[str, str], image: str, *extra: str, probe_url: str = ""
) -> subprocess.CompletedProcess[str]:
    """The probing build of ``image`` with the user environment ``env``; ``probe_url`` is
    where its network probe goes (default ``registry``)."""
    app = stack.app("probed", "probed")
    home = Home(stack.home)
    (home.builds / "other").mkdir(parents=True, exist_ok=True)
    (home.builds / "other" / "marker").write_text("another build's file")
    host = {
        "HOST_HOME": env["HOME"],
        "HOST_PYPACK_HOME": str(stack.home),
        "HOST_PID": str(os.getpid()),
        "HOST_REGISTRY": probe_url or registry,
    }
    args = ["--verbose", "build", image, "--path", str(app), "--builder", "test/builder:1"]
    args += ["--buildpack", str(stack.root / "buildpacks" / "test_probe-all")]
    args += ["--volume", f"{stack.root / 'bindings' / 'creds'}:/platform/bindings/creds"]
    for name, value in host.items():
        args += ["--env", f"{name}={value}"]
    args += [*extra, "--run-image", f"{registry}/stacks/run:1"]
    return run_pypack(stack.home, *args, env=env, check=False)


def probes(output: str) -> dict[str, str]:
    return dict(line.split()[1:3] for line in output.splitlines() if line.startswith("PROBE "))


def test_a_buildpack_sees_only_its_build(secured: Secured, registry: str, tmp_path: Path) -> None:
    stack = secured.stack
    env = user_home(tmp_path, secured.registry, "cnb-registry-auth")
    # the probe's network target is the open test registry (the secured one answers 401)
    result = probe_build(
        stack, secured.registry, env, "probed-local", "--network", "none", probe_url=registry
    )
    assert result.returncode == 0, result.stdout + result.stderr
    seen = probes(result.stdout + result.stderr)
    assert {name: seen.get(name) for name in EXPECTED_REFUSED} == dict.fromkeys(
        EXPECTED_REFUSED, "no"
    )
    assert {name: seen.get(name) for name in EXPECTED_ALLOWED} == dict.fromkeys(
        EXPECTED_ALLOWED, "ok"
    )
    assert not (Path(env["HOME"]) / "probe").exists()
    # the network probe can tell: with the default network (the host's, as pack) it gets through
    open_network = probe_build(stack, secured.registry, env, "probed-local", probe_url=registry)
    assert probes(open_network.stdout + open_network.stderr).get("network") == "ok", (
        open_network.stdout + open_network.stderr
    )


@pytest.mark.parametrize(
    "target",
    [
        "/proc",
        "/proc/1",
        "/dev",
        "/dev/shm",
        "/workspace",
        "/layers",
        "/cnb/buildpacks",
        "/platform/env",
        "/tmp",
        "/",
    ],
)
def test_a_volume_cannot_cover_the_sandboxs_own_paths(
    stack: Stack, target: str, tmp_path: Path
) -> None:
    app = stack.app("volumes", "v")
    result = run_pypack(
        stack.home, "build", "volumes", "--path", str(app), "--builder", "test/builder:1",
        "--volume", f"{tmp_path}:{target}", check=False,
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ERROR: --volume '{tmp_path}:{target}': ")
    assert "is reserved for the build; mount elsewhere" in lines[0]
    assert Home(stack.home).images.resolve(local_name("volumes")) is None


def searched_bytes(root: Path) -> Iterator[tuple[Path, bytes]]:
    """Every regular file under ``root`` (symlinks not followed), gzip opened up, tar members
    read (a secret could hide in a compressed layer)."""
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        yield path, data
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
            yield path, data
        if len(data) > 512 and data[257:262] == b"ustar":
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                for member in tar.getmembers():
                    handle = tar.extractfile(member) if member.isfile() else None
                    if handle is not None:
                        yield path / member.name, handle.read()


@pytest.mark.parametrize("source", ["docker-config", "helper", "cnb-registry-auth"])
def test_credentials_and_binding_secrets_reach_no_byte_written(
    secured: Secured, source: str, tmp_path: Path
) -> None:
    stack, registry = secured.stack, secured.registry
    env = user_home(tmp_path, registry, source)
    reports = tmp_path / "reports"
    image = f"{registry}/secret/{source}:1"
    result = probe_build(
        stack, registry, env, image, "--publish", "--report-output-dir", str(reports),
        "--sbom-output-dir", str(tmp_path / "sbom"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert probes(result.stdout + result.stderr)["read-binding"] == "ok"
    secrets = {
        "password": PASSWORD.encode(),
        "basic auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()),
        "binding secret": BINDING_SECRET.encode(),
    }
    written = [
        stack.home,
        reports,
        tmp_path / "sbom",
        secured.storage,
    ]
    searched = 0
    found = []
    for place in [result.stdout.encode(), result.stderr.encode()]:
        searched += len(place)
        found += [name for name, secret in secrets.items() if secret in place]
    for root in written:
        for path, data in searched_bytes(root):
            searched += len(data)
            found += [f"{name} in {path}" for name, secret in secrets.items() if secret in data]
    assert found == []
    assert searched > 10_000_000
    # the search can find: the binding itself holds the secret
    binding = stack.root / "bindings"
    assert any(BINDING_SECRET.encode() in data for _, data in searched_bytes(binding))
    print(f"{source}: {searched} bytes searched, no secret found")
