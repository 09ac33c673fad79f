"""``pypack buildpack``: package a buildpack as an image or ``.cnb``, scaffold a new one, list
the ones installed Python packages offer."""

from __future__ import annotations

from pathlib import Path

import click

from pypack.errors import UserError
from pypack.fsutil import relative_to_cwd, work_directory
from pypack.pack.home import Home, default_home
from pypack.pack.pull_policy import PULL_POLICIES


@click.group()
def buildpack() -> None:
    """Create, list and package buildpacks."""


@buildpack.command()
@click.argument("buildpack_id", metavar="ID")
@click.option(
    "--path", "directory", type=click.Path(path_type=Path), help="Where (default: ./<name>)."
)
def new(buildpack_id: str, directory: Path | None) -> None:
    """Scaffold an SDK buildpack ID (like example/hello) with a passing test."""
    from pypack.buildpacks.sdk.scaffold import scaffold

    target = directory or Path(buildpack_id.rsplit("/", 1)[-1])
    try:
        written = scaffold(buildpack_id, target)
    except (ValueError, FileExistsError) as error:
        raise UserError(str(error)) from None
    for path in written:
        click.echo(f"created {path}")
    click.echo(f"test it: cd {target} && pytest")


@buildpack.command("ls")
def list_installed() -> None:
    """List the buildpacks installed Python packages offer (entry points pypack.buildpacks)."""
    from pypack.buildpacks.sdk.discovery import installed_buildpacks

    for found in installed_buildpacks():
        click.echo(f"{found.id}@{found.version}  {found.directory}")


@buildpack.command()
@click.argument("name")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "-f", "--format", "output_format", type=click.Choice(["image", "file"]), default="image"
)
@click.option("--publish", is_flag=True, help="Push the package image to its registry.")
@click.option("--pull-policy", type=click.Choice(PULL_POLICIES), default="if-not-present")
@click.option("--insecure-registry", "insecure", multiple=True)
def package(
    name: str,
    config_path: Path,
    output_format: str,
    publish: bool,
    pull_policy: str,
    insecure: tuple[str, ...],
) -> None:
    """Package the buildpack of a package.toml as image NAME, or as the .cnb file NAME."""
    from pypack.pack.buildpackage import package as make_package
    from pypack.pack.buildpackage import write_cnb
    from pypack.pack.images import platform_images
    from pypack.spec.package_toml import PackageConfig

    config = PackageConfig.load(config_path)
    home = Home(default_home())
    images = platform_images(home, publish=publish, pull_policy=pull_policy, insecure=insecure)
    with work_directory("pypack-package-") as scratch:
        try:
            image = make_package(config, config_path.parent, images.load, scratch)
        except UserError as exc:  # name the package config as the user gave it
            raise UserError(relative_to_cwd(f"{config_path}: {exc}")) from None
        if output_format == "file":
            digest = write_cnb(image, Path(name), scratch)
        else:
            digest = images.save(image, [name]).digest
    click.echo(f"Successfully packaged {name} ({digest})")
