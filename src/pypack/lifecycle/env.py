"""The buildpack environment: what ``bin/detect`` and ``bin/build`` see.

It starts from a short allow-list of the lifecycle's own environment (``HOME``, ``HOSTNAME``,
the proxy variables, ``CNB_STACK_ID`` and the five path variables), grows with each buildpack's
build layers (``bin``, ``lib``, ``include``, ``pkgconfig``, then ``env/`` and ``env.build/``),
and, for each run, gets the user's ``<platform>/env`` (unless ``clear-env``) and the operator's
``<build-config>/env`` on top. File rules follow the reference lifecycle: a file's whole content
is the value (no newline trimmed), a suffix picks the action, ``.delim`` applies only in its own
directory, and prepend/append without a delimiter concatenate.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

INCLUDED = ("CNB_STACK_ID", "HOSTNAME", "HOME", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
            "http_proxy", "NO_PROXY", "no_proxy")  # fmt: skip
ROOT_DIRS: dict[str, tuple[str, ...]] = {
    "bin": ("PATH",),
    "lib": ("LD_LIBRARY_PATH", "LIBRARY_PATH"),
    "include": ("CPATH",),
    "pkgconfig": ("PKG_CONFIG_PATH",),
}
"""Layer subdirectory → the variables it is prepended to during a build."""

LAUNCH_ROOT_DIRS: dict[str, tuple[str, ...]] = {"bin": ("PATH",), "lib": ("LD_LIBRARY_PATH",)}
"""Layer subdirectory → the variables it is prepended to at launch."""

_PATH_VARS = frozenset(name for names in ROOT_DIRS.values() for name in names)
_SEP = os.pathsep


def _prefix(existing: str, delimiter: str) -> str:
    return delimiter + existing if existing else ""


def _suffix(existing: str, delimiter: str) -> str:
    return existing + delimiter if existing else ""


def each_env_file(directory: Path, apply: Callable[[str, str], None]) -> None:
    """Call ``apply(name, content)`` for each file in ``directory`` in name order: directories
    are skipped, symlinks to files followed, a missing directory is nothing."""
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return
    for name in names:
        path = directory / name
        if path.is_dir():
            continue
        apply(name, path.read_bytes().decode("utf-8", "surrogateescape"))


def apply_env_dir(variables: dict[str, str], directory: Path, default_action: str) -> None:
    """Apply the env files of ``directory`` to ``variables`` (suffix rules; no suffix means
    ``default_action``; unknown suffixes are ignored)."""

    def apply(file_name: str, value: str) -> None:
        name, dot, action = file_name.partition(".")
        if not dot:
            action = default_action
        current = variables.get(name, "")
        delimiter = _delimiter(directory, name)
        if action == "prepend":
            variables[name] = value + _prefix(current, delimiter)
        elif action == "append":
            variables[name] = _suffix(current, delimiter) + value
        elif action == "override" or (action == "default" and not current):
            variables[name] = value

    each_env_file(directory, apply)


def _delimiter(directory: Path, name: str) -> str:
    try:
        return (directory / f"{name}.delim").read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return ""


class BuildEnv:
    """The environment shared by the buildpacks of one build (or detection)."""

    def __init__(self, variables: Mapping[str, str]) -> None:
        self.vars = dict(variables)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> BuildEnv:
        """Keep only the allow-listed variables of the lifecycle's own environment."""
        keep = set(INCLUDED) | _PATH_VARS
        return cls({k: v for k, v in environ.items() if k in keep})

    def add_root_dir(self, directory: Path) -> None:
        """Prepend ``<dir>/bin`` to PATH, ``<dir>/lib`` to LD_LIBRARY_PATH and LIBRARY_PATH, ...
        for each of those subdirectories that exists."""
        for sub, names in ROOT_DIRS.items():
            child = directory / sub
            if child.is_dir():
                for name in names:
                    self.vars[name] = str(child) + _prefix(self.vars.get(name, ""), _SEP)

    def add_env_dir(self, directory: Path, default_action: str = "override") -> None:
        """Apply a layer's ``env/`` or ``env.build/`` directory."""
        apply_env_dir(self.vars, directory, default_action)

    def with_overrides(
        self, platform_dir: Path | None, build_config_dir: Path | None
    ) -> dict[str, str]:
        """This environment plus the user's ``<platform>/env`` (path variables prepended, others
        set) and the operator's ``<build-config>/env`` (no suffix means default)."""
        variables = dict(self.vars)
        if platform_dir is not None:

            def user(name: str, value: str) -> None:
                if name in _PATH_VARS:
                    variables[name] = value + _prefix(variables.get(name, ""), _SEP)
                else:
                    variables[name] = value

            each_env_file(platform_dir / "env", user)
        if build_config_dir is not None:
            apply_env_dir(variables, build_config_dir / "env", "default")
        return variables
