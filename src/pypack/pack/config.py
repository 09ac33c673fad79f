"""``config.toml`` in the pypack home, and ``pypack config``: settings builds use by default."""

from __future__ import annotations

import tomllib

import click
import tomli_w

from pypack.errors import UserError
from pypack.fsutil import write_atomically
from pypack.pack.home import Home, default_home
from pypack.pack.pull_policy import PULL_POLICIES

SETTINGS = {
    "default-builder": "the builder of pypack build when no --builder or project.toml names one",
    "pull-policy": f"how builds get images: one of {', '.join(PULL_POLICIES)}",
}


def read_config(home: Home) -> dict[str, str]:
    """The settings in ``config.toml`` (empty when there is none)."""
    try:
        data = tomllib.loads(home.config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{home.config}: invalid TOML: {exc}") from None
    return {k: str(v) for k, v in data.items() if k in SETTINGS}


@click.command()
@click.argument("key", type=click.Choice(sorted(SETTINGS)), required=False)
@click.argument("value", required=False)
@click.option("-u", "--unset", is_flag=True, help="Remove the setting.")
def config(key: str | None, value: str | None, unset: bool) -> None:
    """Show or change settings (pypack config [KEY [VALUE]])."""
    home = Home(default_home())
    settings = read_config(home)
    if key is None:
        for name, meaning in SETTINGS.items():
            click.echo(f"{name} = {settings.get(name, '(unset)')}    # {meaning}")
        return
    if unset:
        settings.pop(key, None)
    elif value is None:
        click.echo(settings.get(key, "(unset)"))
        return
    else:
        if key == "pull-policy" and value not in PULL_POLICIES:
            raise UserError(f"pull-policy {value!r}: use one of {', '.join(PULL_POLICIES)}")
        settings[key] = value
    write_atomically(home.config, tomli_w.dumps(settings).encode())
    click.echo(f"{key} = {settings.get(key, '(unset)')}")
