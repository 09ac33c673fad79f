"""``pypack images`` and ``pypack run``: the local store, and a quick local run of an image."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click

from pypack.errors import UserError
from pypack.pack.build_command import parse_env
from pypack.pack.home import Home, default_home
from pypack.pack.images import PlatformImages
from pypack.pack.rootfs import unpack


@click.command()
def images() -> None:
    """List the images in the local store."""
    home = Home(default_home())
    store = home.images
    if not store.exists():
        click.echo("(no images yet: build one with pypack build)")
        return
    click.echo(f"{'NAME':60} {'DIGEST':19}")
    for name in store.names():
        descriptor = store.resolve(name)
        digest = descriptor.digest[7:19] if descriptor else "?"
        click.echo(f"{name:60} {digest}")


LAUNCHER = "/cnb/lifecycle/launcher"


def _command(
    entrypoint: list[str], cmd: list[str], process_type: str | None, args: list[str], rootfs: Path
) -> list[str]:
    """What ``pypack run`` starts: ``--process TYPE`` picks the process (``args`` go to it);
    a command given without one replaces the image's process through the launcher, as the
    launch contract says; otherwise the image's entrypoint and command, as ``docker run``."""
    if process_type:
        return [f"/cnb/process/{process_type}", *args]
    if args and (rootfs / LAUNCHER.lstrip("/")).exists():
        return [LAUNCHER, *args]
    return [*entrypoint, *(args or cmd)]


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("image")
@click.option("-e", "--env", "envs", multiple=True, help="Extra env NAME=VALUE for the process.")
@click.option("--process", "process_type", help="Process type to run instead of the default.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(image: str, envs: tuple[str, ...], process_type: str | None, args: tuple[str, ...]) -> None:
    """Run IMAGE from the local store in a bubblewrap sandbox on the host's network.

    ARGS (after --) replace the image's process: pypack run IMAGE -- CMD ARGS... runs CMD
    through the CNB launcher (with the buildpacks' environment); with --process TYPE they are
    that process's arguments."""
    home = Home(default_home())
    loaded = PlatformImages(home).load(image)
    if loaded is None:
        raise UserError(f"image {image!r} not found in the local store or its registry")
    rootfs = unpack(loaded, home.rootfs)
    config = loaded.config.config
    env = dict(entry.partition("=")[::2] for entry in config.env or [])
    env.update(parse_env(text, "--env") for text in envs)
    command = _command(
        list(config.entrypoint or []), list(config.cmd or []), process_type, list(args), rootfs
    )
    if not command:
        raise UserError(f"image {image!r} has no entrypoint or command; give one after --")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise UserError("bubblewrap (bwrap) is not installed; install it to use pypack run")
    uid, _, gid = (config.user or "0:0").partition(":")
    argv = [
        bwrap,
        "--ro-bind",
        str(rootfs),
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
    ]
    argv += ["--unshare-all", "--share-net", "--die-with-parent", "--new-session"]
    if os.geteuid() != 0 or (uid.isdigit() and int(uid) != 0):
        argv += ["--unshare-user", "--uid", uid if uid.isdigit() else "0", "--gid", gid or "0"]
    argv += ["--chdir", config.working_dir or "/", "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--", *command]
    sys.stdout.flush()
    sys.exit(subprocess.run(argv, check=False).returncode)
