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
import tempfile
from pathlib import Path

from pypack.errors import ExitCode, PypackError, UserError
from pypack.lifecycle.phases.analyze import choose_run_image
from pypack.lifecycle.privileges import give_tree
from pypack.oci.auth import Keychain
from pypack.oci.daemon import DaemonImageStore, connect
from pypack.oci.reference import parse_reference
from pypack.pack.app_source import copy_app
from pypack.pack.build import BuildRequest, Say, run_images_of
from pypack.pack.builder_create import NO_LIFECYCLE_LABEL
from pypack.pack.home import Home
from pypack.spec.api import SUPPORTED_PLATFORM_APIS, ApiVersion
from pypack.spec.labels import BuilderMetadataLabel
from pypack.spec.report_toml import ReportFile


def _platform_api(builder_label: str | None) -> ApiVersion:
    """The newest Platform API both pypack and the builder's lifecycle support."""
    theirs = set(SUPPORTED_PLATFORM_APIS)
    if builder_label:
        metadata = BuilderMetadataLabel.from_label(builder_label)
        if metadata.lifecycle.apis.platform.supported:
            theirs = set(metadata.lifecycle.apis.platform.supported)
    common = sorted(theirs & set(SUPPORTED_PLATFORM_APIS))
    if not common:
        raise UserError("the builder's lifecycle supports no Platform API pypack knows (0.12-0.15)")
    return common[-1]


def _registry_auth(keychain: Keychain, image: str) -> str:
    registry = parse_reference(image).registry
    creds = keychain.resolve(registry)
    header = creds.header or creds.basic()
    return json.dumps({registry: header}) if header else "{}"


def docker_build(request: BuildRequest, home: Home, say: Say, *, publish: bool) -> str:
    """Build with the creator in a container; return the digest or image ID from report.toml."""
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
    uid = int(builder.env("CNB_USER_ID") or 1000)
    gid = int(builder.env("CNB_GROUP_ID") or 1000)
    if not daemon.exists(request.builder):
        say(f"     loading builder {request.builder} into the daemon")
        daemon.save(builder, [request.builder])
    run_name = request.run_image or choose_run_image(run_images_of(builder, None), request.image)
    if not publish and not daemon.exists(run_name):
        run_image = request.images.load(run_name)
        if run_image is None:
            raise UserError(f"run image {run_name!r} not found locally or in its registry")
        say(f"     loading run image {run_name} into the daemon")
        daemon.save(run_image, [run_name])
    work = Path(tempfile.mkdtemp(prefix="docker-build-", dir=_builds(home)))
    try:
        label = builder.label(BuilderMetadataLabel.label_name)
        return _run_creator(request, home, say, work, run_name, (uid, gid), label, publish)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _builds(home: Home) -> Path:
    home.builds.mkdir(parents=True, exist_ok=True)
    return home.builds


def _run_creator(
    request: BuildRequest,
    home: Home,
    say: Say,
    work: Path,
    run_name: str,
    ids: tuple[int, int],
    builder_label: str | None,
    publish: bool,
) -> str:
    uid, gid = ids
    os.chmod(work, 0o755)
    workspace, layers, platform = work / "workspace", work / "layers", work / "platform"
    for directory in (workspace, layers, platform / "env"):
        directory.mkdir(parents=True)
    copy_app(request.app, workspace, include=request.include, exclude=request.exclude)
    for name, value in request.env.items():
        (platform / "env" / name).write_text(value)
    cache = request.cache_dir or Path(f"{home.cache_for(request.image)}-docker")
    cache.mkdir(parents=True, exist_ok=True)
    for path in (work, cache):
        give_tree(path, uid, gid)
    args = [
        "-app=/workspace", "-layers=/layers", "-platform=/platform", "-cache-dir=/cache",
        f"-run-image={run_name}", f"-uid={uid}", f"-gid={gid}", "-report=/layers/report.toml",
        "-log-level=info",
    ]  # fmt: skip
    if request.previous_image:
        args.append(f"-previous-image={request.previous_image}")
    if request.default_process:
        args.append(f"-process-type={request.default_process}")
    if request.clear_cache:
        args.append("-skip-restore")
    for tag in request.tags:
        args.append(f"-tag={tag}")
    environment = {"CNB_PLATFORM_API": str(_platform_api(builder_label))}
    if request.creation_time is not None:
        environment["SOURCE_DATE_EPOCH"] = str(request.creation_time)
    volumes: dict[str, dict[str, str]] = {
        str(workspace): {"bind": "/workspace", "mode": "rw"},
        str(layers): {"bind": "/layers", "mode": "rw"},
        str(platform): {"bind": "/platform", "mode": "rw"},
        str(cache): {"bind": "/cache", "mode": "rw"},
    }
    if publish:
        environment["CNB_REGISTRY_AUTH"] = _registry_auth(Keychain(), request.image)
    else:
        args.append("-daemon")
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        if not host.startswith("unix://"):
            raise UserError(
                f"--docker exports through the daemon socket; DOCKER_HOST={host} is not one"
            )
        volumes[host.removeprefix("unix://")] = {"bind": "/var/run/docker.sock", "mode": "rw"}
        environment["DOCKER_HOST"] = "unix:///var/run/docker.sock"
    args.append(request.image)
    client = connect()
    say("===> CREATING (in a container from the builder)")
    container = client.containers.run(
        request.builder,
        command=args,
        entrypoint=["/cnb/lifecycle/creator"],
        user="0:0",
        environment=environment,
        volumes=volumes,
        network_mode="host" if request.network else "none",
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
    report = ReportFile.load(layers / "report.toml")
    return report.image.digest or report.image.image_id or ""
