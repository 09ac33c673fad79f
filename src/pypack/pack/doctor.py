"""``pypack doctor``: the home's health (see :mod:`pypack.pack.health`) for a person."""

from __future__ import annotations

import click

from pypack.errors import ExitCode, PypackError
from pypack.pack.health import check, sweep
from pypack.pack.home import Home, default_home


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


@click.command()
@click.option("--fix", is_flag=True, help="Remove what killed commands left behind.")
def doctor(fix: bool) -> None:
    """Check the pypack home: every stored blob and cache layer against its digest, and what
    killed commands left behind."""
    home = Home(default_home())
    if fix:
        for path in sweep(home):
            click.echo(f"removed {path}")
    result = check(home)
    store = result.store
    click.echo(
        f"images: {store.images} images, {store.blobs} blobs ({_size(store.bytes)}) "
        "read and checked"
    )
    click.echo(f"caches: {result.caches} caches, {result.cache_layers} layers read and checked")
    for path in result.all_leftovers:
        click.echo(f"left by a killed command: {path}")
    if store.unreferenced:
        click.echo(f"blobs no image uses: {len(store.unreferenced)} (harmless)")
    for problem in result.all_problems:
        click.echo(f"damaged: {problem}", err=True)
    if result.all_problems:
        raise PypackError(
            f"{len(result.all_problems)} problems in {home.root}; rebuild or re-pull the images "
            "named above (pypack build, or remove the cache directory named)",
            exit_code=ExitCode.GENERIC,
        )
    if result.all_leftovers:
        click.echo("leftovers are harmless; pypack doctor --fix (or the next build) removes them")
    click.echo(f"{home.root}: healthy")
