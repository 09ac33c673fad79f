"""The ``pypack`` command line: the click group and the one place errors become exit codes.

Subcommands live in their own modules and are imported only when invoked, so a command with
little to do (``pypack --version``) starts fast.
"""

from __future__ import annotations

import errno
import importlib
import logging
import sys
from collections.abc import Sequence

import click

from pypack import __version__
from pypack.errors import ExitCode, PypackError

# name -> "module:attribute" of the click command; imported on first use.
_COMMANDS: dict[str, str] = {
    "build": "pypack.pack.build_command:build",
    "builder": "pypack.pack.builder_command:builder",
    "config": "pypack.pack.config:config",
    "doctor": "pypack.pack.doctor:doctor",
    "buildpack": "pypack.pack.buildpack_command:buildpack",
    "image": "pypack.pack.containerd_load:image",
    "images": "pypack.pack.run_command:images",
    "inspect": "pypack.pack.image_command:inspect",
    "rebase": "pypack.pack.image_command:rebase",
    "run": "pypack.pack.run_command:run",
    "sbom": "pypack.pack.sbom_command:sbom",
    "stack": "pypack.pack.stack_command:stack",
    "validate": "pypack.pack.validate:validate",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="pypack", message="%(prog)s %(version)s")
@click.option("-v", "--verbose", is_flag=True, help="Show debug output and tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="Show only results, warnings and errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, quiet: bool) -> None:
    """pypack turns application source into OCI images with Cloud Native Buildpacks."""
    from pypack.pack import output

    ctx.obj = {"verbose": verbose, "quiet": quiet}
    output.configure(quiet=quiet, verbose=verbose)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s: %(message)s"
    )


_OS_ERROR_FIXES = {
    errno.ENOSPC: "free some space there and run the command again",
    errno.EDQUOT: "free some space there (or raise the quota) and run the command again",
    errno.EROFS: "the file system is read-only; point PYPACK_HOME (or the path given) elsewhere",
    errno.EACCES: "check the permissions of that path",
}


def os_error_line(error: OSError) -> str:
    """One line for an operating-system error: the path (or, for a full disk, where pypack
    writes), what went wrong and, where there is one, the fix."""
    full = error.errno in (errno.ENOSPC, errno.EDQUOT)
    path = error.filename2 if full and error.filename2 else error.filename  # a copy's target
    line = f"{path}: {error.strerror or error}" if path else str(error.strerror or error)
    if not path and full:
        from pypack.pack.home import default_home

        line += f" (pypack writes to its home, {default_home()}, and the temporary directory)"
    fix = _OS_ERROR_FIXES.get(error.errno or 0)
    return f"{line}; {fix}" if fix else line


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; a :class:`PypackError` becomes one line on stderr and its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = any(arg in ("-v", "--verbose") for arg in args)
    try:
        cli.main(args=args, prog_name="pypack", standalone_mode=False)
    except PypackError as error:
        if verbose:
            logging.getLogger("pypack").exception("traceback")
        click.echo(f"ERROR: {error}", err=True)
        sys.exit(error.exit_code)
    except OSError as error:  # the machine's, not pypack's: a full disk, a read-only file system
        if verbose:
            logging.getLogger("pypack").exception("traceback")
        click.echo(f"ERROR: {os_error_line(error)}", err=True)
        sys.exit(ExitCode.GENERIC)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(ExitCode.GENERIC)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    sys.exit(ExitCode.SUCCESS)
