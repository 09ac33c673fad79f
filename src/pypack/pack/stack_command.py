"""``pypack stack build NAME|DIR``."""

from __future__ import annotations

import click

from pypack.oci.stores import LayoutImageStore
from pypack.pack.home import Home, default_home


@click.group()
def stack() -> None:
    """Build stacks (build and run base images)."""


@stack.command()
@click.argument("name")
@click.option(
    "--refresh", is_flag=True, help="Fetch packages again instead of using the cached rootfs."
)
def build(name: str, refresh: bool) -> None:
    """Build the build and run images of stack NAME (bundled: tiny, debian-bookworm,
    debian-trixie) or of a stack directory."""
    from pypack.pack.stack_build import StackDefinition, build_stack

    definition = StackDefinition.load(name)
    home = Home(default_home())
    store = LayoutImageStore(home.images)
    from pypack.pack import output

    if definition.kind == "debian":
        output.say(f"Building {definition.id} with mmdebstrap (a minute the first time) ...")
    build_result, run_result = build_stack(
        definition, store, home.root / "stack-cache", refresh=refresh, say=output.say_progress
    )
    click.echo(f"Built {definition.build_image} ({build_result.digest})")
    click.echo(f"Built {definition.run_image} ({run_result.digest})")
