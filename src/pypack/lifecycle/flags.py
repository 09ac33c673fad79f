"""Go-style command-line flags, as the reference lifecycle parses them.

``-flag=value``, ``-flag value`` and ``--flag`` forms; booleans as ``-flag`` or ``-flag=false``;
parsing stops at the first argument that is not a flag (or after ``--``). Precedence is flag >
``CNB_*`` environment variable > default, and an explicitly empty value (``-cache-image=``)
means "unset", as Tekton passes it. An undefined flag is exit code 2; ``-h`` prints the usage
and exits 0, like Go's ``flag`` package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pypack.errors import ExitCode, PypackError
from pypack.spec.api import ApiVersion


class FlagError(PypackError):
    """A flag the phase does not define, or a malformed flag value (exit code 2)."""

    exit_code = ExitCode.UNDEFINED_FLAG


class HelpRequested(PypackError):
    """``-h`` was given: print the usage and exit 0."""

    exit_code = ExitCode.SUCCESS


@dataclass(frozen=True)
class Flag:
    """One flag: its name, the env var that sets it, its default, and the Platform API range."""

    name: str
    env: str | None = None
    default: str | None = None
    boolean: bool = False
    repeated: bool = False
    since: str | None = None
    before: str | None = None
    help: str = ""

    def available(self, platform_api: ApiVersion) -> bool:
        """True when the phase defines this flag at ``platform_api``."""
        if self.since is not None and platform_api.less_than(self.since):
            return False
        return not (self.before is not None and platform_api.at_least(self.before))


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_bool(text: str, where: str) -> bool:
    """Go's ``strconv.ParseBool``."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FlagError(f'invalid boolean value "{text}" for {where}: parse error')


@dataclass
class Parsed:
    """Flag values (None: unset) and the positional arguments."""

    values: dict[str, str | bool | list[str] | None]
    args: list[str]

    def text(self, name: str) -> str | None:
        """A string flag's value, None when unset or empty."""
        value = self.values.get(name)
        return value if isinstance(value, str) and value else None

    def flag(self, name: str) -> bool:
        """A boolean flag's value."""
        return bool(self.values.get(name))

    def many(self, name: str) -> list[str]:
        """A repeated flag's values."""
        value = self.values.get(name)
        return list(value) if isinstance(value, list) else []


def parse(
    phase: str,
    flags: Sequence[Flag],
    argv: Sequence[str],
    environ: Mapping[str, str],
    platform_api: ApiVersion,
) -> Parsed:
    """Parse ``argv`` (without the program name) for ``phase``."""
    defined = {f.name: f for f in flags if f.available(platform_api)}
    explicit: dict[str, str | bool | list[str]] = {}
    args = list(argv)
    while args:
        arg = args[0]
        if arg == "--":
            args.pop(0)
            break
        if not arg.startswith("-") or arg == "-":
            break
        args.pop(0)
        body = arg[2:] if arg.startswith("--") else arg[1:]
        name, has_value, value = body.partition("=")
        if name in ("h", "help"):
            raise HelpRequested(usage(phase, defined.values()))
        spec = defined.get(name)
        if spec is None:
            raise FlagError(f"flag provided but not defined: -{name}")
        if spec.boolean:
            explicit[name] = parse_bool(value, f"-{name}") if has_value else True
            continue
        if not has_value:
            if not args:
                raise FlagError(f"flag needs an argument: -{name}")
            value = args.pop(0)
        if spec.repeated:  # Tekton passes "-tag=" and comma lists: keep the non-empty parts
            previous = explicit.get(name)
            parts = [part for part in value.split(",") if part]
            explicit[name] = [*(previous if isinstance(previous, list) else []), *parts]
        else:
            explicit[name] = value
    values: dict[str, str | bool | list[str] | None] = {}
    for name, spec in defined.items():
        if name in explicit:
            values[name] = explicit[name]
            continue
        from_env = environ.get(spec.env) if spec.env else None
        if spec.boolean:
            values[name] = (
                parse_bool(from_env, spec.env or name) if from_env else spec.default == "true"
            )
        elif spec.repeated:
            values[name] = [v for v in (from_env or "").split(",") if v] or (
                [spec.default] if spec.default else []
            )
        else:
            values[name] = from_env if from_env else spec.default
    return Parsed(values, args)


def usage(phase: str, flags: Iterable[Flag]) -> str:
    """The ``-h`` text of a phase."""
    lines = [f"Usage of {phase}:"]
    for spec in sorted(flags, key=lambda f: f.name):
        kind = "" if spec.boolean else " string"
        lines.append(f"  -{spec.name}{kind}")
        if spec.help:
            lines.append(f"    \t{spec.help}")
    return "\n".join(lines)
