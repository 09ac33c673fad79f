"""``pypack validate FILE...``: check CNB files against their formats."""

from __future__ import annotations

from pathlib import Path

import click

from pypack.spec.registry import KINDS, load_any
from pypack.spec.warnings import document_warnings


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(sorted(KINDS)),
    help="Which CNB file this is, when its name does not say (e.g. a <layer>.toml).",
)
def validate(files: tuple[Path, ...], kind: str | None) -> None:
    """Check CNB files (buildpack.toml, builder.toml, project.toml, ...) against the spec.

    Prints one line per file. A malformed file stops with one line naming the file, the key
    and the problem. Keys the spec does not know (where pack and the lifecycle ignore them) and
    IDs the spec reserves are reported as warnings.
    """
    for path in files:
        document = load_any(path, kind)
        for line in document_warnings(document, str(path)):
            click.echo(f"warning: {line}", err=True)
        click.echo(f"{path}: ok")
