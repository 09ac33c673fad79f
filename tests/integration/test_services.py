"""The real services CI starts really answer: the registry, dockerd and bubblewrap.

A green CI run with these tests proves the services ran; later issues build on them.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from typing import TYPE_CHECKING

import pytest
import requests

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.integration


def _push_blob(base: str, repo: str, content: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    started = requests.post(f"{base}/v2/{repo}/blobs/uploads/", timeout=30)
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    if location.startswith("/"):
        location = base + location
    separator = "&" if "?" in location else "?"
    done = requests.put(
        f"{location}{separator}digest={digest}",
        data=content,
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert done.status_code == 201, done.text
    return digest


def test_registry_blob_push_and_pull(registry: str) -> None:
    base = f"http://{registry}"
    content = b"pypack integration blob\n" * 1000
    digest = _push_blob(base, "pypack/blobs", content)
    head = requests.head(f"{base}/v2/pypack/blobs/blobs/{digest}", timeout=30)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(content)
    pulled = requests.get(f"{base}/v2/pypack/blobs/blobs/{digest}", timeout=30)
    assert pulled.content == content
    assert pulled.headers["Docker-Content-Digest"] == digest
    missing = requests.head(f"{base}/v2/pypack/blobs/blobs/sha256:{'0' * 64}", timeout=30)
    assert missing.status_code == 404


def test_skopeo_reads_a_manifest_pushed_to_the_registry(registry: str) -> None:
    base = f"http://{registry}"
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"hello\n"))
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        },
        separators=(",", ":"),
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _push_blob(base, "pypack/hello", config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": _push_blob(base, "pypack/hello", layer_bytes),
                    "size": len(layer_bytes),
                }
            ],
        },
        separators=(",", ":"),
    ).encode()
    put = requests.put(
        f"{base}/v2/pypack/hello/manifests/v1",
        data=manifest,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        timeout=30,
    )
    assert put.status_code == 201, put.text
    skopeo = shutil.which("skopeo")
    assert skopeo, "skopeo is installed by scripts/setup.sh"
    ref = f"docker://{registry}/pypack/hello:v1"
    raw = subprocess.run(
        [skopeo, "inspect", "--raw", "--tls-verify=false", ref], capture_output=True, check=True
    )
    assert raw.stdout == manifest
    inspected = subprocess.run(
        [skopeo, "inspect", "--tls-verify=false", ref], capture_output=True, check=True, text=True
    )
    details = json.loads(inspected.stdout)
    assert details["Architecture"] == "amd64"
    assert details["Digest"] == "sha256:" + hashlib.sha256(manifest).hexdigest()


def test_dockerd_answers_through_the_sdk(docker_client: docker.DockerClient) -> None:
    version = docker_client.version()
    assert version["ApiVersion"]
    assert docker_client.ping() is True
    assert docker_client.info()["Driver"] == "overlay2"


def test_dockerd_runs_a_container_without_network(docker_client: docker.DockerClient) -> None:
    busybox = shutil.which("busybox")
    assert busybox, "busybox-static is installed by scripts/setup.sh"
    rootfs = io.BytesIO()
    with tarfile.open(fileobj=rootfs, mode="w") as tar:
        tar.add(busybox, arcname="bin/busybox")
        link = tarfile.TarInfo("bin/echo")
        link.type = tarfile.SYMTYPE
        link.linkname = "busybox"
        tar.addfile(link)
    docker_client.api.import_image_from_data(
        rootfs.getvalue(), repository="pypack-test/busybox", tag="1"
    )
    output = docker_client.containers.run(
        "pypack-test/busybox:1",
        ["/bin/echo", "hello from dockerd"],
        network_mode="none",
        remove=True,
    )
    assert output == b"hello from dockerd\n"


def test_bubblewrap_runs_a_sandboxed_command() -> None:
    """A new PID namespace (the command is pid 2 under bwrap's init) and a read-only root."""
    bwrap = shutil.which("bwrap")
    assert bwrap, "bubblewrap is installed by scripts/setup.sh"
    script = "echo $$; touch /pypack-sandbox-probe 2>/dev/null && echo writable || echo read-only"
    result = subprocess.run(
        [
            bwrap,
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--unshare-all",
            "--die-with-parent",
            "sh",
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == "2\nread-only\n"
