"""``pypack rebase`` and ``pypack inspect``: app images after the build."""

from __future__ import annotations

from collections.abc import Callable

import click

from pypack.errors import UserError
from pypack.lifecycle.images import ImageAccess
from pypack.lifecycle.phases.rebase import rebase as rebase_image
from pypack.oci.auth import Keychain
from pypack.oci.image import Image, ImageError, ImageStore
from pypack.oci.reference import parse_reference
from pypack.oci.registry import RegistryError
from pypack.oci.stores import RegistryImageStore
from pypack.pack.config import run_image_mirrors
from pypack.pack.health import sweeping
from pypack.pack.home import Home, default_home
from pypack.pack.images import PlatformImages, local_or_daemon
from pypack.pack.inspect_image import OUTPUT_FORMATS, Info, image_info, render
from pypack.pack.pull_policy import PULL_POLICIES


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
    with sweeping(home):
        rebased = rebase_image(ImageAccess(images, "local"), image, run_image, force=force)
        result = images.save(rebased, [image])
    click.echo(f"Rebased {image} ({result.digest})")


@click.command()
@click.argument("image")
@click.option(
    "-o", "--output", type=click.Choice(OUTPUT_FORMATS), default="human-readable",
    help="How to print it (pack's formats).",
)  # fmt: skip
def inspect(image: str, output: str) -> None:
    """Show how IMAGE was built, where it is kept locally (the store, else the daemon) and in
    its registry: base image, run images, buildpacks, processes."""
    parse_reference(image)
    home = Home(default_home())
    mirrors = run_image_mirrors(home)
    local = _side(lambda: local_or_daemon(home, image), mirrors)
    remote = _side(lambda: RegistryImageStore(Keychain()).load(image), mirrors)
    if local is None and remote is None:
        raise UserError(f"unable to find image {image!r} locally or remotely")
    click.echo(render(image, local, remote, output))


def _side(load: Callable[[], Image | None], mirrors: dict[str, list[str]]) -> Info | str | None:
    """One side's information, the one-line reason it cannot be read, or None: not there."""
    try:
        found = load()
        return image_info(found, mirrors) if found is not None else None
    except (UserError, RegistryError, ImageError) as exc:
        return str(exc)
