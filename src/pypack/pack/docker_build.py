"""``pypack build --docker``: the builder's own lifecycle in one container, as pack's trusted flow.

The builder and the run image are put into the daemon if they are not there yet; a container
from the builder runs ``/cnb/lifecycle/creator`` with volumes for the app, the layers, the
platform env and the cache, and exports into the daemon (through its socket) or, with
``--publish``, to the registry (credentials passed as ``CNB_REGISTRY_AUTH``).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pypack.errors import ExitCode, PypackError, UserError
from pypack.lifecycle.privileges import give_tree
from pypack.oci.auth import Keychain
from pypack.oci.daemon import DaemonImageStore, connect
from pypack.oci.image import Image
from pypack.oci.reference import LAYOUT_PREFIX, parse_reference
from pypack.pack.build import (
    BuildRequest,
    Say,
    WorkTree,
    build_directory,
    cnb_ids,
    copy_sbom,
    prepare_work,
    run_image_for,
)
from pypack.pack.builder_create import NO_LIFECYCLE_LABEL
from pypack.pack.home import Home
from pypack.pack.sandbox import HOST_CA_MOUNT
from pypack.spec.api import SUPPORTED_PLATFORM_APIS, ApiVersion
from pypack.spec.labels import BuilderMetadataLabel, BuildpackOrderLabel
from pypack.spec.order_toml import OrderFile, PinnedGroup, PinnedRef
from pypack.spec.report_toml import ReportFile

DRIVEN_PLATFORM_APIS = frozenset(v for v in SUPPORTED_PLATFORM_APIS if v.at_least("0.12"))
"""The Platform APIs whose creator flags this platform passes (``-run``, ``-insecure-registry``
...); the lifecycle itself also runs 0.7-0.11 for platforms that drive those."""


def _platform_api(builder_label: str | None) -> ApiVersion:
    """The newest Platform API both this platform and the builder's lifecycle support."""
    theirs = set(DRIVEN_PLATFORM_APIS)
    if builder_label:
        metadata = BuilderMetadataLabel.from_label(builder_label)
        if metadata.lifecycle.apis.platform.supported:
            theirs = set(metadata.lifecycle.apis.platform.supported)
    common = sorted(theirs & DRIVEN_PLATFORM_APIS)
    if not common:
        raise UserError("the builder's lifecycle supports no Platform API pypack knows (0.12-0.15)")
    return common[-1]


def _registry_auth(keychain: Keychain, image: str) -> str:
    registry = parse_reference(image).registry
    creds = keychain.resolve(registry)
    header = creds.header or creds.basic()
    return json.dumps({registry: header}) if header else "{}"


@dataclass
class ContainerSpec:
    """The creator container a build runs: its arguments, env, volumes and network."""

    args: list[str]
    environment: dict[str, str]
    volumes: dict[str, dict[str, str]]
    network_mode: str


def creator_container(
    request: BuildRequest,
    tree: WorkTree,
    *,
    cache_dir: Path | None,
    run_name: str,
    ids: tuple[int, int],
    platform_api: ApiVersion,
    publish: bool,
) -> ContainerSpec:
    """Every option of ``request`` as creator flags, env and volumes (no Docker involved, so
    the mapping is checked without a daemon)."""
    uid, gid = ids
    args = [
        "-app=/workspace", "-layers=/layers", "-platform=/platform", f"-run-image={run_name}",
        f"-uid={uid}", f"-gid={gid}", "-report=/layers/report.toml", "-log-level=info",
    ]  # fmt: skip
    volumes: dict[str, dict[str, str]] = {
        str(tree.workspace): {"bind": "/workspace", "mode": "rw"},
        str(tree.layers): {"bind": "/layers", "mode": "rw"},
        str(tree.platform): {"bind": "/platform", "mode": "rw"},
    }
    if request.cache_image:
        args.append(f"-cache-image={request.cache_image}")
    elif cache_dir is not None:
        args.append("-cache-dir=/cache")
        volumes[str(cache_dir)] = {"bind": "/cache", "mode": "rw"}
    if request.previous_image:
        args.append(f"-previous-image={request.previous_image}")
    if request.default_process:
        args.append(f"-process-type={request.default_process}")
    if request.clear_cache:
        args.append("-skip-restore")
    args.extend(f"-tag={tag}" for tag in request.tags)
    environment = {"CNB_PLATFORM_API": str(platform_api)}
    if request.insecure:
        environment["CNB_INSECURE_REGISTRIES"] = ",".join(request.insecure)
    if request.creation_time is not None:
        environment["SOURCE_DATE_EPOCH"] = str(request.creation_time)
    for directory in tree.added_buildpacks():
        relative = directory.relative_to(tree.extra_buildpacks)
        volumes[str(directory)] = {"bind": f"/cnb/buildpacks/{relative}", "mode": "ro"}
    for volume in request.volumes:
        volumes[str(volume.host)] = {
            "bind": volume.target,
            "mode": "rw" if volume.writable else "ro",
        }
    if request.host_ca is not None:
        volumes[str(request.host_ca)] = {"bind": HOST_CA_MOUNT, "mode": "ro"}
    if not publish:
        args.append("-daemon")
    args.append(request.image)
    return ContainerSpec(args, environment, volumes, "host" if request.network else "none")


def write_order(builder: Image, tree: WorkTree) -> None:
    """``<layers>/order.toml`` (which the creator prefers to the builder's) when the build adds
    buildpacks or project.toml changes the order."""
    label = builder.label(BuildpackOrderLabel.label_name)
    builder_order = (
        [list(g.group) for g in BuildpackOrderLabel.from_label(label).order] if label else []
    )
    order = tree.order_transform(builder_order)
    if order != builder_order:
        pinned = [
            PinnedGroup(group=[PinnedRef.model_validate(ref.model_dump()) for ref in group])
            for group in order
        ]
        OrderFile(order=pinned).dump(tree.layers / "order.toml")


def docker_build(request: BuildRequest, home: Home, say: Say, *, publish: bool) -> str:
    """Build with the creator in a container; return the digest or image ID from report.toml."""
    if request.image.startswith(LAYOUT_PREFIX):
        raise UserError("--docker exports into the daemon or, with --publish, a registry; not oci:")
    daemon = DaemonImageStore()
    builder = request.images.load(request.builder)
    if builder is None:
        raise UserError(f"builder {request.builder!r} not found locally or in its registry")
    if builder.label(NO_LIFECYCLE_LABEL) == "true" or not builder.label(
        BuilderMetadataLabel.label_name
    ):
        raise UserError(
            f"builder {request.builder!r} has no lifecycle that runs in its build image "
            "(its python3 does not match); build without --docker, daemonless"
        )
    builder.name = request.builder
    uid, gid = cnb_ids(request, builder)
    if not daemon.exists(request.builder):
        say(f"     loading builder {request.builder} into the daemon")
        daemon.save(builder, [request.builder])
    run_name = run_image_for(request, builder, None)
    if not publish and not daemon.exists(run_name):
        run_image = request.images.load(run_name)
        if run_image is None:
            raise UserError(f"run image {run_name!r} not found locally or in its registry")
        say(f"     loading run image {run_name} into the daemon")
        daemon.save(run_image, [run_name])
    with build_directory(home, "docker-build-") as work:
        tree = prepare_work(work, request, uid, gid, say)
        write_order(builder, tree)
        give_tree(tree.layers, uid, gid)
        cache_dir = docker_cache_dir(request, home)
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            give_tree(cache_dir, uid, gid)
        spec = creator_container(
            request,
            tree,
            cache_dir=cache_dir,
            run_name=run_name,
            ids=(uid, gid),
            platform_api=_platform_api(builder.label(BuilderMetadataLabel.label_name)),
            publish=publish,
        )
        _connect_output(spec, request, publish)
        _run(request.builder, spec, say)
        return copy_outputs(request, tree)


def docker_cache_dir(request: BuildRequest, home: Home) -> Path | None:
    """The cache volume: ``--cache-dir``, else one per image (none with ``--cache-image``)."""
    if request.cache_image:
        return None
    return request.cache_dir or Path(f"{home.cache_for(request.image)}-docker")


def _connect_output(spec: ContainerSpec, request: BuildRequest, publish: bool) -> None:
    """Registry credentials for ``--publish``; the daemon's socket otherwise."""
    if publish:
        spec.environment["CNB_REGISTRY_AUTH"] = _registry_auth(Keychain(), request.image)
        return
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        raise UserError(
            f"--docker exports through the daemon socket; DOCKER_HOST={host} is not one"
        )
    spec.volumes[host.removeprefix("unix://")] = {"bind": "/var/run/docker.sock", "mode": "rw"}
    spec.environment["DOCKER_HOST"] = "unix:///var/run/docker.sock"


def _run(builder: str, spec: ContainerSpec, say: Say) -> None:
    client = connect()
    say("===> CREATING (in a container from the builder)")
    container = client.containers.run(
        builder,
        command=spec.args,
        entrypoint=["/cnb/lifecycle/creator"],
        user="0:0",
        environment=spec.environment,
        volumes=spec.volumes,
        network_mode=spec.network_mode,
        detach=True,
    )
    try:
        for chunk in container.logs(stream=True, follow=True):
            for line in chunk.decode("utf-8", "replace").splitlines():
                say(f"[creator] {line}")
        status = int(container.wait().get("StatusCode", 1))
    finally:
        container.remove(force=True)
    if status != 0:
        raise PypackError(
            f"the creator in the builder container failed with exit code {status}",
            exit_code=status or ExitCode.GENERIC,
        )


def copy_outputs(request: BuildRequest, tree: WorkTree) -> str:
    """``--report-output-dir`` and ``--sbom-output-dir`` from the container's layers; the
    image's digest or ID."""
    report_path = tree.layers / "report.toml"
    if request.report_dir is not None:
        request.report_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(report_path, request.report_dir / "report.toml")
    copy_sbom(tree, request.sbom_dir)
    report = ReportFile.load(report_path)
    return report.image.digest or report.image.image_id or ""
