"""``pypack rebase`` and ``pypack inspect``: app images after the build."""

from __future__ import annotations

import json
from typing import Any

import click

from pypack.errors import UserError
from pypack.lifecycle.images import ImageAccess
from pypack.lifecycle.phases.rebase import rebase as rebase_image
from pypack.oci.auth import Keychain
from pypack.oci.image import Image, ImageStore
from pypack.oci.stores import RegistryImageStore
from pypack.pack.home import Home, default_home
from pypack.pack.images import PlatformImages
from pypack.pack.pull_policy import PULL_POLICIES
from pypack.spec.lifecycle_metadata import LifecycleMetadataLabel
from pypack.spec.metadata_toml import BuildMetadataLabel


@click.command()
@click.argument("image")
@click.option("--run-image", help="The new run image (default: the one the image records).")
@click.option(
    "--publish", is_flag=True, help="Rebase in the registry: only config and manifest move."
)
@click.option("--force", is_flag=True, help="Rebase even when the checks would refuse.")
@click.option("--pull-policy", type=click.Choice(PULL_POLICIES), default="if-not-present")
@click.option("--insecure-registry", "insecure", multiple=True)
def rebase(
    image: str,
    run_image: str | None,
    publish: bool,
    force: bool,
    pull_policy: str,
    insecure: tuple[str, ...],
) -> None:
    """Put IMAGE on a new version of its run image without rebuilding it."""
    home = Home(default_home())
    target: ImageStore | None = (
        RegistryImageStore(Keychain(), insecure_registries=insecure) if publish else None
    )
    images = PlatformImages(home, pull_policy=pull_policy, insecure=insecure, target=target)
    images.outputs.add(image)
    rebased = rebase_image(ImageAccess(images, "local"), image, run_image, force=force)
    result = images.save(rebased, [image])
    click.echo(f"Rebased {image} ({result.digest})")


def describe(name: str, image: Image) -> dict[str, Any]:
    """What ``pypack inspect`` shows, as data."""
    lifecycle_label = image.label(LifecycleMetadataLabel.label_name)
    if not lifecycle_label:
        raise UserError(
            f"{name!r} was not built with buildpacks: it has no lifecycle metadata label"
        )
    lifecycle = LifecycleMetadataLabel.from_label(lifecycle_label)
    build_label = image.label(BuildMetadataLabel.label_name)
    build = BuildMetadataLabel.from_label(build_label) if build_label else BuildMetadataLabel()
    return {
        "image_name": name,
        "base_image": {
            "top_layer": lifecycle.run_image.top_layer,
            "reference": lifecycle.run_image.reference,
        },
        "run_images": [lifecycle.run_image.image, *(lifecycle.run_image.mirrors or [])],
        "buildpacks": [
            {"id": b.id, "version": b.version, "homepage": b.homepage} for b in build.buildpacks
        ],
        "processes": [
            {
                "type": p.type,
                "command": p.command_list,
                "args": p.args or [],
                "default": p.type == build.buildpack_default_process_type,
                "working_dir": p.working_dir,
            }
            for p in build.processes
        ],
        "rebasable": image.label("io.buildpacks.rebasable") != "false",
    }


@click.command()
@click.argument("image")
@click.option(
    "-o", "--output", type=click.Choice(["human-readable", "json"]), default="human-readable"
)
def inspect(image: str, output: str) -> None:
    """Show how IMAGE was built: base image, buildpacks, processes, run images."""
    loaded = PlatformImages(Home(default_home())).load(image)
    if loaded is None:
        raise UserError(f"image {image!r} not found locally or in its registry")
    info = describe(image, loaded)
    if output == "json":
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"Image: {image}")
    click.echo(f"Base image: {info['base_image']['reference']}")
    click.echo(f"  top layer: {info['base_image']['top_layer']}")
    click.echo("Run images:")
    for run in info["run_images"]:
        if run:
            click.echo(f"  {run}")
    click.echo("Buildpacks:")
    for bp in info["buildpacks"]:
        click.echo(f"  {bp['id']} {bp['version']}")
    click.echo("Processes:")
    for process in info["processes"]:
        marker = " (default)" if process["default"] else ""
        click.echo(f"  {process['type']}{marker}: {' '.join(process['command'] + process['args'])}")
