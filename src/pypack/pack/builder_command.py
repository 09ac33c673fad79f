"""``pypack builder create`` and ``pypack builder inspect``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pypack.errors import UserError
from pypack.pack.health import sweeping
from pypack.pack.home import Home, default_home
from pypack.pack.images import PlatformImages, platform_images
from pypack.pack.pull_policy import PULL_POLICIES
from pypack.spec.builder_toml import BuilderConfig
from pypack.spec.labels import BuilderMetadataLabel, BuildpackOrderLabel


@click.group()
def builder() -> None:
    """Create and inspect builders."""


@builder.command()
@click.argument("name")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), required=True)
@click.option("--publish", is_flag=True, help="Push the builder to its registry.")
@click.option("--pull-policy", type=click.Choice(PULL_POLICIES), default="if-not-present")
@click.option("--insecure-registry", "insecure", multiple=True)
def create(
    name: str, config_path: Path, publish: bool, pull_policy: str, insecure: tuple[str, ...]
) -> None:
    """Create builder NAME from a builder.toml (pack's format)."""
    from pypack.oci.reference import parse_reference
    from pypack.pack.builder_create import create_builder

    parse_reference(name)  # a bad name is refused before any work, not when saving
    config = BuilderConfig.load(config_path)
    home = Home(default_home())
    images = platform_images(home, publish=publish, pull_policy=pull_policy, insecure=insecure)
    home.builds.mkdir(parents=True, exist_ok=True)
    with sweeping(home):
        result = create_builder(
            config,
            config_path.parent,
            name,
            load=images.load,
            target=images,
            wheel_cache=home.wheels,
            warn=lambda text: click.echo(f"Warning: {text}", err=True),
            say=lambda text: click.echo(text, err=True),
            config_name=str(config_path),
            scratch_parent=home.builds,
        )
    click.echo(f"Successfully created builder {name} ({result.digest})")


@builder.command()
@click.argument("name")
@click.option(
    "-o", "--output", type=click.Choice(["human-readable", "json"]), default="human-readable"
)
def inspect(name: str, output: str) -> None:
    """Show a builder's run images, buildpacks, order and lifecycle."""
    image = PlatformImages(Home(default_home())).load(name)
    if image is None:
        raise UserError(f"builder {name!r} not found locally or in its registry")
    label = image.label(BuilderMetadataLabel.label_name)
    if not label:
        raise UserError(
            f"{name!r} is not a builder: it has no {BuilderMetadataLabel.label_name} label"
        )
    metadata = BuilderMetadataLabel.from_label(label)
    order_label = image.label(BuildpackOrderLabel.label_name)
    order = BuildpackOrderLabel.from_label(order_label).order if order_label else []
    if output == "json":
        data = {
            "builder_name": name,
            "description": metadata.description,
            "run_images": [i.model_dump() for i in metadata.images],
            "buildpacks": [{"id": b.id, "version": b.version} for b in metadata.buildpacks],
            "order": [
                [{"id": r.id, "version": r.version, "optional": r.optional} for r in g.group]
                for g in order
            ],
            "lifecycle": {
                "version": metadata.lifecycle.version,
                "platform_apis": [str(v) for v in metadata.lifecycle.apis.platform.supported],
            },
        }
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"Builder: {name}")
    click.echo(f"Description: {metadata.description or '(none)'}")
    click.echo(f"Created by: {metadata.created_by.name} {metadata.created_by.version}")
    click.echo("Run images:")
    for run in metadata.images:
        click.echo(f"  {run.image}" + "".join(f"\n  {m} (mirror)" for m in run.mirrors))
    click.echo("Buildpacks:")
    for bp in metadata.buildpacks:
        click.echo(f"  {bp.id} {bp.version or ''}")
    click.echo("Detection order:")
    for number, group in enumerate(order, start=1):
        click.echo(f"  Group #{number}:")
        for ref in group.group:
            click.echo(f"    {ref.id}@{ref.version}{' (optional)' if ref.optional else ''}")
    lifecycle = metadata.lifecycle.version or "none (daemonless builds only)"
    click.echo(f"Lifecycle: {lifecycle}")
