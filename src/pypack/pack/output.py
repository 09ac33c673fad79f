"""How much the CLI prints: ``--quiet`` (results, warnings and errors only), the default, or
``--verbose`` (the lifecycle's debug lines too); and how progress of transfers is shown: a bar
per layer on a terminal, one plain line per layer otherwise (CI logs), nothing when quiet."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import click

from pypack.oci import progress


@dataclass
class _Settings:
    quiet: bool = False
    verbose: bool = False


_SETTINGS = _Settings()


def configure(*, quiet: bool, verbose: bool) -> None:
    """Set the output level for this process and start showing progress accordingly."""
    _SETTINGS.quiet, _SETTINGS.verbose = quiet, verbose
    if quiet:
        progress.listen(None)
    elif sys.stderr.isatty():
        progress.listen(Bars())
    else:
        progress.listen(PlainLines())


def quiet() -> bool:
    """True with ``--quiet``."""
    return _SETTINGS.quiet


def say(text: str) -> None:
    """A line of the command's own progress (not shown with ``--quiet``)."""
    if not _SETTINGS.quiet:
        click.echo(text)


def say_progress(text: str) -> None:
    """A progress line on stderr, for a log (not shown with ``--quiet``)."""
    if not _SETTINGS.quiet:
        click.echo(text, err=True)


def lifecycle_level() -> str | None:
    """The lifecycle's log level: warn when quiet, debug when verbose, else its default."""
    if _SETTINGS.quiet:
        return "warn"
    return "debug" if _SETTINGS.verbose else None


def size_text(size: int) -> str:
    """Bytes as docker prints them: ``812 B``, ``4.2 kB``, ``13.5 MB``."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


class PlainLines:
    """One line per transfer as it starts, on stderr: what a log file can hold."""

    def begin(self, action: str, where: str, item: str, total: int | None) -> None:
        """Print ``Pulling <where> layer 2/5 sha256:… (13.5 MB)``."""
        sized = f" ({size_text(total)})" if total else ""
        click.echo(f"{action} {where} {item}{sized}", err=True)

    def advance(self, size: int) -> None:
        """Bytes are not counted in a log."""

    def end(self) -> None:
        """Nothing more to print."""


class Bars:
    """A rich progress bar per transfer on the terminal's stderr (rich is imported only when
    the first transfer starts)."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._where: tuple[str, str] = ("", "")

    def begin(self, action: str, where: str, item: str, total: int | None) -> None:
        """Add a bar for the transfer (a line naming ``where`` first, when it changes)."""
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=Console(stderr=True),
            )
        if (action, where) != self._where:
            self._where = (action, where)
            self._progress.console.print(f"{action} {where}", highlight=False, markup=False)
        if not self._progress.live.is_started:
            self._progress.start()
        self._task = self._progress.add_task(f"  {item}", total=total)

    def advance(self, size: int) -> None:
        """Move the bar on."""
        self._progress.update(self._task, advance=size)

    def end(self) -> None:
        """Finish the bar (it stays on screen) and stop drawing until the next transfer."""
        task = self._progress.tasks[-1]
        self._progress.update(self._task, completed=task.total or task.completed)
        self._progress.stop()
        self._progress.remove_task(self._task)
