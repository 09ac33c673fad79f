"""``pypack sbom download``: the SBOM layer of an app image, as pack's command writes it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pypack.errors import UserError
from pypack.oci.auth import Keychain
from pypack.oci.extract import extract_layer
from pypack.oci.image import Image
from pypack.oci.reference import parse_reference
from pypack.oci.stores import RegistryImageStore
from pypack.pack.home import Home, default_home
from pypack.pack.images import local_or_daemon
from pypack.spec.lifecycle_metadata import LifecycleMetadataLabel


@click.group()
def sbom() -> None:
    """Software Bills of Materials of app images."""


@sbom.command()
@click.argument("image")
@click.option(
    "-o", "--output-dir", type=click.Path(path_type=Path), default=Path("."),
    help="Where to write the SBOM files (layers/sbom/...); default: the current directory.",
)  # fmt: skip
@click.option("--remote", is_flag=True, help="Read the image from its registry, not locally.")
def download(image: str, output_dir: Path, remote: bool) -> None:
    """Write the SBOM layer of IMAGE (local store or daemon; --remote: its registry)."""
    parse_reference(image)
    found = (
        RegistryImageStore(Keychain()).load(image)
        if remote
        else local_or_daemon(Home(default_home()), image)
    )
    if found is None:
        if not remote:
            click.echo(
                "Warning: if the image is saved on a registry run with the flag '--remote', "
                f"for example: 'pypack sbom download --remote {image}'",
                err=True,
            )
        raise UserError(f"image '{image}' cannot be found")
    diff_id = _sbom_layer(found)
    if diff_id is None:
        raise UserError(f"could not find SBoM information on '{image}'")
    output_dir.mkdir(parents=True, exist_ok=True)
    with found.layer(diff_id).open() as stream:
        written = extract_layer(stream, output_dir, whiteouts=False, same_owner=False, source=image)
    click.echo(f"Wrote {len(written)} SBOM paths of {image} to {output_dir}")


def _sbom_layer(image: Image) -> str | None:
    """The diff ID of the SBOM layer the lifecycle metadata label names."""
    label = image.label(LifecycleMetadataLabel.label_name)
    if not label:
        return None
    try:
        sha = json.loads(label).get("sbom", {}).get("sha")
    except (ValueError, AttributeError):
        return None
    return sha if isinstance(sha, str) and sha else None
