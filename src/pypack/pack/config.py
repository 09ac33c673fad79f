"""``config.toml`` in the pypack home, and ``pypack config``: settings builds use by default.

The file has pack's shape: top-level settings and ``[[run-images]]`` tables (``image`` and its
``mirrors``); keys pypack does not know are kept when it rewrites the file.
"""

from __future__ import annotations

import tomllib
from typing import Any

import click

from pypack.errors import UserError
from pypack.fsutil import write_atomically
from pypack.pack.home import Home, default_home
from pypack.pack.pull_policy import PULL_POLICIES

SETTINGS = {
    "default-builder": "the builder of pypack build when no --builder or project.toml names one",
    "pull-policy": f"how builds get images: one of {', '.join(PULL_POLICIES)}",
}


def _read_document(home: Home) -> dict[str, Any]:
    try:
        return tomllib.loads(home.config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{home.config}: invalid TOML: {exc}") from None


def _write_document(home: Home, document: dict[str, Any]) -> None:
    import tomli_w  # written rarely, read by every build

    write_atomically(home.config, tomli_w.dumps(document).encode())


def read_config(home: Home) -> dict[str, str]:
    """The settings in ``config.toml`` (empty when there is none)."""
    return {k: str(v) for k, v in _read_document(home).items() if k in SETTINGS}


def run_image_mirrors(home: Home) -> dict[str, list[str]]:
    """The user's run image mirrors (``[[run-images]]``): image → mirrors."""
    tables = _read_document(home).get("run-images")
    if not isinstance(tables, list):
        return {}
    return {
        str(t["image"]): [str(m) for m in t.get("mirrors") or []]
        for t in tables
        if isinstance(t, dict) and t.get("image")
    }


def _set_mirrors(home: Home, mirrors: dict[str, list[str]]) -> None:
    document = _read_document(home)
    document["run-images"] = [{"image": i, "mirrors": m} for i, m in mirrors.items()]
    if not mirrors:
        del document["run-images"]
    _write_document(home, document)


@click.group(invoke_without_command=True)
@click.pass_context
def config(ctx: click.Context) -> None:
    """Show or change settings (pypack config [SETTING [VALUE]])."""
    if ctx.invoked_subcommand is not None:
        return
    settings = read_config(Home(default_home()))
    for name, meaning in SETTINGS.items():
        click.echo(f"{name} = {settings.get(name, '(unset)')}    # {meaning}")


def _setting_command(key: str, meaning: str) -> click.Command:
    @click.argument("value", required=False)
    @click.option("-u", "--unset", is_flag=True, help="Remove the setting.")
    def command(value: str | None, unset: bool) -> None:
        home = Home(default_home())
        document = _read_document(home)
        if unset:
            document.pop(key, None)
        elif value is None:
            click.echo(read_config(home).get(key, "(unset)"))
            return
        else:
            if key == "pull-policy" and value not in PULL_POLICIES:
                raise UserError(f"pull-policy {value!r}: use one of {', '.join(PULL_POLICIES)}")
            document[key] = value
        _write_document(home, document)
        click.echo(f"{key} = {document.get(key, '(unset)')}")

    return click.command(key, help=f"Show, set or unset {meaning}.")(command)


for _key, _meaning in SETTINGS.items():
    config.add_command(_setting_command(_key, _meaning))


@config.group("run-image-mirrors")
def run_image_mirrors_command() -> None:
    """List, add and remove run image mirrors: builds prefer them to the builder's."""


@run_image_mirrors_command.command("list")
@click.argument("image", required=False)
def list_mirrors(image: str | None) -> None:
    """The mirrors of every run image, or of IMAGE."""
    mirrors = {
        i: m for i, m in run_image_mirrors(Home(default_home())).items() if image in (None, i)
    }
    if not mirrors:
        click.echo("No run image mirrors have been set" + (f" for {image}" if image else ""))
        return
    click.echo("Run Image Mirrors:")
    for name, names in mirrors.items():
        click.echo(f"  {name}:")
        for mirror in names:
            click.echo(f"    {mirror}")


@run_image_mirrors_command.command("add")
@click.argument("image")
@click.option("-m", "--mirror", "added", multiple=True, help="A mirror of IMAGE (repeatable).")
def add_mirrors(image: str, added: tuple[str, ...]) -> None:
    """Add mirrors for IMAGE (kept sorted, without duplicates)."""
    if not added:
        click.echo("No run image mirrors were provided.")
        return
    home = Home(default_home())
    mirrors = run_image_mirrors(home)
    mirrors[image] = sorted({*mirrors.get(image, []), *added})
    _set_mirrors(home, mirrors)
    for mirror in added:
        click.echo(f"Run Image {image} configured with mirror {mirror}")


@run_image_mirrors_command.command("remove")
@click.argument("image")
@click.option("-m", "--mirror", "removed", multiple=True, help="Only this mirror (repeatable).")
def remove_mirrors(image: str, removed: tuple[str, ...]) -> None:
    """Remove IMAGE's mirrors: all of them, or those given with --mirror."""
    home = Home(default_home())
    mirrors = run_image_mirrors(home)
    if image not in mirrors:
        click.echo(f"No run image mirrors have been set for {image}")
        return
    left = [m for m in mirrors[image] if m not in removed]
    if removed and left:
        mirrors[image] = left
    else:
        del mirrors[image]
    _set_mirrors(home, mirrors)
    if removed:
        click.echo(f"Removed mirrors {', '.join(removed)} for {image}")
    else:
        click.echo(f"Removed all run image mirrors for {image}")
