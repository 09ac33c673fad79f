"""``--containerd``: an image of the local store into a containerd image store (``k8s.io`` by
default, where kubelet and kind nodes look), with no Docker daemon on the way — for ``pypack
build`` and for ``pypack image load``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from pypack.oci.containerd import DEFAULT_NAMESPACE, DEFAULT_SOCKET
from pypack.pack.home import Home, default_home


def containerd_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--containerd [SOCKET]`` and ``--containerd-namespace`` options."""
    command = click.option(
        "--containerd-namespace",
        default=DEFAULT_NAMESPACE,
        show_default=True,
        help="The containerd namespace the image goes to.",
    )(command)
    return click.option(
        "--containerd",
        is_flag=False,
        flag_value=DEFAULT_SOCKET,
        default=None,
        metavar="[SOCKET]",
        help=f"Also load the image into containerd (socket default {DEFAULT_SOCKET}).",
    )(command)


def load_into_containerd(home: Home, image: str, socket: str, namespace: str) -> None:
    """Import ``image`` of the local store into containerd and say so."""
    from pypack.oci.containerd import load
    from pypack.pack.images import local_name

    name = local_name(image)
    started = time.monotonic()
    size = load(home.images, name, name, socket, namespace)
    click.echo(
        f"Loaded {name} into containerd ({socket}, namespace {namespace}): "
        f"{size / 1e6:.1f} MB in {time.monotonic() - started:.1f} s"
    )


@click.group()
def image() -> None:
    """Move images of the local store elsewhere."""


@image.command("load")
@click.argument("name")
@containerd_options
def load_command(name: str, containerd: str | None, containerd_namespace: str) -> None:
    """Load image NAME of the local store into containerd (--containerd [SOCKET])."""
    from pypack.errors import UserError

    if containerd is None:
        raise UserError("pypack image load: say where the image goes: --containerd [SOCKET]")
    load_into_containerd(Home(default_home()), name, containerd, containerd_namespace)
