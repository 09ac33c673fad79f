"""``pypack build IMAGE``: source to image, with pack's flags where they make sense."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pypack.errors import UserError
from pypack.oci.reference import LAYOUT_PREFIX, parse_reference
from pypack.pack.app_source import is_app_archive
from pypack.pack.config import read_config, run_image_mirrors
from pypack.pack.containerd_load import containerd_options, load_into_containerd
from pypack.pack.home import Home, default_home
from pypack.pack.pull_policy import PULL_POLICIES
from pypack.pack.sandbox import Volume

if TYPE_CHECKING:
    from pypack.oci.image import ImageStore
    from pypack.pack.reuse import Reuse

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DEFAULT_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def parse_env(text: str, where: str) -> tuple[str, str]:
    """``K=V``, or ``K`` (the value copied from this environment)."""
    name, has_value, value = text.partition("=")
    if not _ENV_NAME.fullmatch(name):
        raise UserError(f"{where}: {text!r} is not NAME=VALUE or NAME with a valid variable name")
    if not has_value:
        if name not in os.environ:
            raise UserError(f"{where}: {name} is not set in this environment; give NAME=VALUE")
        value = os.environ[name]
    return name, value


def read_env_file(path: Path) -> dict[str, str]:
    """``--env-file``: NAME=VALUE or NAME lines; blank lines and ``#`` comments are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(f"--env-file {path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"--env-file {path}: not UTF-8 text (byte {exc.start})") from None
    result = {}
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, value = parse_env(stripped, f"--env-file {path}: line {number}")
        result[name] = value
    return result


def parse_creation_time(text: str | None) -> int | None:
    """``--creation-time``: seconds since the epoch, or ``now``."""
    if text is None:
        return None
    if text == "now":
        return int(time.time())
    if not (text.isascii() and text.isdigit()):
        raise UserError(f"--creation-time {text!r}: give seconds since the epoch or 'now'")
    return int(text)


@click.command()
@click.argument("image")
@click.option(
    "-p", "--path", "app", type=click.Path(path_type=Path), default=".", help="App directory."
)
@click.option("-B", "--builder", help="Builder image.")
@click.option(
    "-b",
    "--buildpack",
    "buildpacks",
    multiple=True,
    help="Buildpack: id[@version], a directory, a .tgz/.cnb file, docker://IMAGE or from=builder.",
)
@click.option("-e", "--env", "envs", multiple=True, help="Build-time env NAME=VALUE or NAME.")
@click.option("--env-file", type=click.Path(path_type=Path), help="File of NAME=VALUE lines.")
@click.option("--run-image", help="Run image instead of the builder's.")
@click.option("--publish", is_flag=True, help="Export to the registry named by IMAGE.")
@click.option("--daemon", is_flag=True, help="Export into the Docker daemon.")
@click.option(
    "--docker",
    "use_docker",
    is_flag=True,
    help="Run the builder's lifecycle in a container (needs dockerd).",
)
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Build cache directory.")
@click.option("--cache-image", help="Registry image for the build cache (with --publish).")
@click.option(
    "--report-output-dir", type=click.Path(path_type=Path), help="Write report.toml here."
)
@click.option(
    "--sbom-output-dir", type=click.Path(path_type=Path), help="Copy the SBOM files here."
)
@click.option("--clear-cache", is_flag=True, help="Do not restore the build cache.")
@click.option(
    "--pull-policy",
    type=click.Choice(PULL_POLICIES),
    help="Default: pypack config pull-policy, else if-not-present.",
)
@click.option(
    "--network",
    type=click.Choice(["host", "none", "default"]),
    default="host",
    help="Network for buildpacks (default: host).",
)
@click.option(
    "--volume", "volumes", multiple=True, help="Mount host:target[:ro|rw] for buildpacks."
)
@click.option("--creation-time", help="Image creation time: seconds since the epoch, or 'now'.")
@click.option("-d", "--descriptor", type=click.Path(path_type=Path), help="project.toml to use.")
@click.option("-t", "--tag", "tags", multiple=True, help="Additional tag.")
@click.option("--previous-image", help="Image to reuse layers from.")
@click.option("-D", "--default-process", help="Default process type.")
@click.option("--insecure-registry", "insecure", multiple=True, help="Registry to use over http.")
@click.option("--uid", type=int, help="CNB user id (default: the builder's).")
@click.option("--gid", type=int, help="CNB group id (default: the builder's).")
@click.option(
    "--host-ca-certs",
    is_flag=True,
    help=f"Give buildpacks the host's CA bundle ({DEFAULT_CA_BUNDLE}), for TLS proxies.",
)
@click.option(
    "--no-reuse",
    is_flag=True,
    help="Build even when no input changed since the image was built.",
)
@containerd_options
def build(
    image: str,
    app: Path,
    builder: str | None,
    buildpacks: tuple[str, ...],
    envs: tuple[str, ...],
    env_file: Path | None,
    run_image: str | None,
    publish: bool,
    daemon: bool,
    use_docker: bool,
    cache_dir: Path | None,
    cache_image: str | None,
    report_output_dir: Path | None,
    sbom_output_dir: Path | None,
    clear_cache: bool,
    pull_policy: str | None,
    network: str,
    volumes: tuple[str, ...],
    creation_time: str | None,
    descriptor: Path | None,
    tags: tuple[str, ...],
    previous_image: str | None,
    default_process: str | None,
    insecure: tuple[str, ...],
    uid: int | None,
    gid: int | None,
    host_ca_certs: bool,
    no_reuse: bool,
    containerd: str | None,
    containerd_namespace: str,
) -> None:
    """Build IMAGE from the app's source with a builder's buildpacks, without Docker.

    The image goes to the local store (see pypack images), to a registry with --publish, into
    the Docker daemon with --daemon, or to an OCI layout when IMAGE is oci:PATH[:TAG].
    """
    if publish and daemon:
        raise UserError("--publish and --daemon are exclusive; choose where the image goes")
    if containerd and (publish or daemon or use_docker or image.startswith(LAYOUT_PREFIX)):
        raise UserError(
            "--containerd loads the image into containerd from the local store; drop "
            "--publish, --daemon, --docker or the oci: image"
        )
    if image.startswith(LAYOUT_PREFIX) and (publish or daemon):
        flag = "--publish" if publish else "--daemon"
        raise UserError(f"{image}: an oci: image goes to that OCI layout; drop {flag}")
    if no_reuse and use_docker:
        raise UserError("--no-reuse: --docker builds are never reused; drop --no-reuse")
    if cache_image and not publish:
        raise UserError("--cache-image needs --publish: the cache image lives in a registry")
    _check_references(image, tags, run_image, previous_image, cache_image)
    if not app.is_dir() and not is_app_archive(app):
        raise UserError(f"--path {app}: not a directory or a zip/jar archive of the app")
    home = Home(default_home())
    if descriptor is not None and not descriptor.is_file():
        raise UserError(f"--descriptor {descriptor}: no such file; give the path of a project.toml")
    project_path = descriptor or app / "project.toml"
    given_env: dict[str, str] = {}
    if env_file is not None:
        given_env.update(read_env_file(env_file))
    given_env.update(parse_env(text, "--env") for text in envs)
    defaults = read_config(home)
    pull_policy = pull_policy or defaults.get("pull-policy", "if-not-present")
    reuse = None
    if not (no_reuse or clear_cache or use_docker or sbom_output_dir or creation_time == "now"):
        reuse = _reuse_for(home, app, project_path, given_env, pull_policy, insecure)
        record = reuse.check(builder, report_output_dir is not None)
        if record is not None:
            click.echo(
                f"Image {image} is up to date: nothing it is built from changed "
                "(pypack build --no-reuse builds it again)",
                err=True,
            )
            if report_output_dir is not None and record.report is not None:
                report_output_dir.mkdir(parents=True, exist_ok=True)
                (report_output_dir / "report.toml").write_text(record.report)
            click.echo(f"Successfully built image {image} ({record.digest})")
            if containerd:
                load_into_containerd(home, image, containerd, containerd_namespace)
            return
    _build_for_real(home, defaults, project_path, given_env, pull_policy, reuse)


def _check_references(
    image: str,
    tags: tuple[str, ...],
    run_image: str | None,
    previous_image: str | None,
    cache_image: str | None,
) -> None:
    """Every image reference the build was given parses, before anything is built."""
    from pypack.oci.reference import InvalidReference

    given: list[tuple[str, str | None]] = [("", image), *(("--tag", t) for t in tags)]
    given += [("--run-image", run_image), ("--previous-image", previous_image)]
    given += [("--cache-image", cache_image)]
    for flag, text in given:
        if text is None or (not flag and text.startswith(LAYOUT_PREFIX)):
            continue
        try:
            parse_reference(text)
        except InvalidReference as exc:
            raise UserError(f"{flag} {text}: {exc}" if flag else str(exc)) from None


def _reuse_for(
    home: Home,
    app: Path,
    project_path: Path,
    env: dict[str, str],
    pull_policy: str,
    insecure: tuple[str, ...],
) -> Reuse:
    """The reuse check of this build: its options from click's context, so every flag added
    later counts unless it is listed as not changing the image."""
    from pypack.pack.reuse import Reuse, ReuseInputs

    params = click.get_current_context().params
    options = {k: _plain(v) for k, v in params.items() if k not in _NOT_IN_IMAGE}
    options["pull_policy"] = pull_policy
    content = [DEFAULT_CA_BUNDLE] if params["host_ca_certs"] else []
    for text in params["buildpacks"]:
        content += [p for p in (Path(text), app / text) if p.exists()]
    content += [v.host for v in map(Volume.parse, params["volumes"]) if v.host.exists()]
    image: str = params["image"]
    target = "local"
    if image.startswith(LAYOUT_PREFIX):
        target = "layout"
    elif params["publish"] or params["daemon"]:
        target = "publish" if params["publish"] else "daemon"
    return Reuse(
        home,
        ReuseInputs(
            image=image,
            app=app.resolve(),
            target=target,
            options=options,
            env=env,
            project_file=project_path if project_path.is_file() else None,
            content_paths=content,
            tags=list(params["tags"]),
            pull_policy=pull_policy,
            insecure=insecure,
        ),
    )


_NOT_IN_IMAGE = frozenset(
    ("app", "envs", "env_file", "descriptor", "report_output_dir", "sbom_output_dir",
     "clear_cache", "no_reuse", "containerd", "containerd_namespace")
)  # fmt: skip
"""Flags that do not change the image, or whose content the key holds some other way."""


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def _build_for_real(
    home: Home,
    defaults: dict[str, str],
    project_path: Path,
    given_env: dict[str, str],
    pull_policy: str,
    reuse: Reuse | None,
) -> None:
    """The build itself, with the image, registry and lifecycle code imported now."""
    from pypack.lifecycle import log
    from pypack.oci.auth import Keychain
    from pypack.oci.stores import RegistryImageStore
    from pypack.pack import output
    from pypack.pack.build import BuildRequest
    from pypack.pack.build import build as run_build
    from pypack.pack.images import PlatformImages, layout_target
    from pypack.pack.project_source import project_source
    from pypack.spec.project_toml import load_project
    from pypack.spec.warnings import document_warnings

    params = click.get_current_context().params
    image: str = params["image"]
    app: Path = params["app"]
    publish: bool = params["publish"]
    insecure: tuple[str, ...] = params["insecure"]
    report_output_dir: Path | None = params["report_output_dir"]
    settings = None
    if project_path.is_file():
        project = load_project(project_path)
        for line in document_warnings(project, str(project_path)):
            click.echo(f"warning: {line}", err=True)
        settings = project.normalized()
    env: dict[str, str] = {}
    if settings is not None:
        env.update({e.name: e.value for e in settings.env})
    env.update(given_env)
    if reuse is not None:
        reuse.begin(settings.include if settings else None, settings.exclude if settings else None)
    project_builder = settings.builder if settings else None
    builder = params["builder"] or project_builder or defaults.get("default-builder")
    if not builder:
        from pypack.pack.default_builder import choose_default_builder, ensure_default_builder

        def say(text: str) -> None:
            click.echo(text, err=True)

        builder = ensure_default_builder(home, say, choose_default_builder(app, say))
    keychain = Keychain()
    target: ImageStore | None = None
    if image.startswith(LAYOUT_PREFIX):
        target = layout_target(image)
    else:
        parse_reference(image)
        if publish:
            target = RegistryImageStore(keychain, insecure_registries=insecure)
        elif params["daemon"]:
            from pypack.oci.daemon import DaemonImageStore

            target = DaemonImageStore()
    images = PlatformImages(
        home, pull_policy=pull_policy, insecure=insecure, keychain=keychain, target=target
    )
    log.configure(output.lifecycle_level())
    request = BuildRequest(
        image=image,
        app=app.resolve(),
        builder=builder,
        target=images,
        images=images,
        env=env,
        run_image=params["run_image"],
        tags=list(params["tags"]),
        previous_image=params["previous_image"],
        cache_dir=params["cache_dir"],
        clear_cache=params["clear_cache"],
        network=params["network"] != "none",
        volumes=[Volume.parse(v) for v in params["volumes"]],
        host_ca=DEFAULT_CA_BUNDLE if params["host_ca_certs"] else None,
        creation_time=parse_creation_time(params["creation_time"]),
        default_process=params["default_process"],
        include=settings.include if settings else None,
        exclude=settings.exclude if settings else None,
        buildpacks=[part for text in params["buildpacks"] for part in text.split(",") if part],
        project_group=settings.buildpacks if settings else [],
        pre=settings.pre if settings else [],
        post=settings.post if settings else [],
        uid=params["uid"],
        gid=params["gid"],
        compress_layers=publish,
        cache_image=params["cache_image"],
        report_dir=report_output_dir,
        sbom_dir=params["sbom_output_dir"],
        insecure=insecure,
        publish=publish,
        quiet=output.quiet(),
        run_image_mirrors=run_image_mirrors(home),
        project_source=project_source(
            settings.version if settings else None,
            settings.source_url if settings else None,
            app.resolve(),
        ),
        reuse=reuse,
    )
    if params["use_docker"]:
        from pypack.pack.docker_build import docker_build

        identifier = docker_build(request, home, output.say, publish=publish)
        click.echo(f"Successfully built image {image} ({identifier})")
        return
    result = run_build(request, home, output.say)
    click.echo(f"Successfully built image {image} ({result.digest})")
    if params["containerd"]:
        load_into_containerd(home, image, params["containerd"], params["containerd_namespace"])
