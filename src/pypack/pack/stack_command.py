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
def build(name: str) -> None:
    """Build the build and run images of stack NAME (bundled: tiny) or of a stack directory."""
    from pypack.pack.stack_build import StackDefinition, build_stack

    definition = StackDefinition.load(name)
    store = LayoutImageStore(Home(default_home()).images)
    build_result, run_result = build_stack(definition, store)
    click.echo(f"Built {definition.build_image} ({build_result.digest})")
    click.echo(f"Built {definition.run_image} ({run_result.digest})")
