"""Images from an OCI layout into a containerd image store, without a Docker daemon.

Nodes of Kubernetes (kubelet, kind) read images from containerd's ``k8s.io`` namespace. The
image goes in as containerd takes an archive: an OCI layout holding the one manifest, streamed
as a tar into ``ctr images import`` (the client containerd ships) — blobs straight from the
layout's files, nothing written to disk on the way, so memory stays flat whatever the layer
sizes. The image is named with its full reference (``docker.io/library/app:1``), as kubelet
looks it up.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pypack.errors import PypackError, UserError
from pypack.oci import mediatypes

if TYPE_CHECKING:
    from pypack.oci.layout import LayoutStore
    from pypack.oci.models import Descriptor

DEFAULT_SOCKET = "/run/containerd/containerd.sock"
DEFAULT_NAMESPACE = "k8s.io"
CONTAINERD_NAME = "io.containerd.image.name"
REF_NAME = "org.opencontainers.image.ref.name"


class ContainerdError(PypackError):
    """containerd refused the image or could not be reached."""


def _blob_digests(layout: LayoutStore, descriptor: Descriptor) -> Iterator[str]:
    """Every blob ``descriptor`` reaches: the manifest (or index) itself, configs, layers."""
    yield descriptor.digest
    document = layout.read_document(descriptor)
    if mediatypes.is_index(descriptor.media_type):
        for child in document.index().manifests:
            if layout.has_blob(child.digest):
                yield from _blob_digests(layout, child)
        return
    manifest = document.manifest()
    yield manifest.config.digest
    for layer in manifest.layers:
        yield layer.digest


def write_archive(layout: LayoutStore, name: str, full_name: str, out: io.RawIOBase) -> int:
    """An OCI-layout tar of image ``name`` of ``layout`` to ``out``, the image named
    ``full_name`` in it; the bytes of blobs written."""
    from pypack.oci.models import Descriptor

    descriptor = layout.resolve(name)
    if descriptor is None:
        raise UserError(f"no image {name!r} in the local store; build it or pull it first")
    named = Descriptor.model_validate(
        {**descriptor.model_dump(by_alias=True, exclude_none=True),
         "annotations": {REF_NAME: full_name, CONTAINERD_NAME: full_name}}
    )  # fmt: skip
    index = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX,
             "manifests": [named.model_dump(by_alias=True, exclude_none=True)]}  # fmt: skip
    written = 0
    with tarfile.open(fileobj=out, mode="w|") as tar:
        for entry, data in (("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
                            ("index.json", json.dumps(index).encode())):  # fmt: skip
            info = tarfile.TarInfo(entry)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        seen: set[str] = set()
        for digest in _blob_digests(layout, descriptor):
            if digest in seen:
                continue
            seen.add(digest)
            path = layout.blob_path(digest)
            info = tarfile.TarInfo(f"blobs/sha256/{digest.split(':', 1)[1]}")
            info.size = path.stat().st_size
            with open(path, "rb") as blob:
                tar.addfile(info, blob)
            written += info.size
    return written


def load(
    layout: LayoutStore,
    name: str,
    full_name: str,
    socket: str = DEFAULT_SOCKET,
    namespace: str = DEFAULT_NAMESPACE,
) -> int:
    """Import image ``name`` of ``layout`` into containerd at ``socket`` as ``full_name``;
    the blob bytes streamed."""
    ctr = shutil.which("ctr")
    if ctr is None:
        raise UserError("--containerd needs ctr, containerd's client (Debian package containerd)")
    if not Path(socket).exists():
        raise UserError(f"--containerd {socket}: no containerd socket there; give its path")
    argv = [ctr, "--address", socket, "--namespace", namespace, "images", "import",
            "-"]  # fmt: skip
    # ctr's output goes to a file: a pipe nobody reads while the tar is written could fill
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors
        ) as process,
    ):
        assert process.stdin is not None
        try:
            written = write_archive(layout, name, full_name, process.stdin)  # type: ignore[arg-type]
        except BrokenPipeError:
            written = 0
        finally:
            process.stdin.close()
        code = process.wait()
        errors.seek(0)
        said = errors.read().decode(errors="replace").strip().splitlines()
    if code != 0:
        raise ContainerdError(f"containerd at {socket} refused {full_name}: {(said or ['?'])[-1]}")
    return written
