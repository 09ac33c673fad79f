"""The launcher's view of ``metadata.toml``: shell-quoted assignments it can source.

Run images may have no Python and no TOML parser, so the exporter writes
``<layers>/config/launch.sh`` next to ``metadata.toml`` in the config layer: the same processes
and buildpacks, as variables a POSIX shell reads safely (every value single-quoted).
"""

from __future__ import annotations

from importlib import resources

from pypack.spec.ids import escape_id
from pypack.spec.metadata_toml import BuildMetadata

LAUNCH_DATA_FILE = "launch.sh"


def shell_quote(text: str) -> str:
    """``text`` as one single-quoted shell word."""
    return "'" + text.replace("'", "'\\''") + "'"


def _words(values: list[str]) -> str:
    return " ".join(shell_quote(value) for value in values)


def launch_data(metadata: BuildMetadata) -> str:
    """The content of ``launch.sh`` for ``metadata``."""
    apis = {bp.id: str(bp.api or "") for bp in metadata.buildpacks}
    lines = [
        "# written by the pypack exporter from metadata.toml; sourced by the launcher",
        f"CNB_BUILDPACKS={shell_quote(' '.join(escape_id(bp.id) for bp in metadata.buildpacks))}",
        f"CNB_DEFAULT_PROCESS={shell_quote(metadata.buildpack_default_process_type or '')}",
        f"CNB_P_COUNT={len(metadata.processes)}",
    ]
    for number, process in enumerate(metadata.processes, start=1):
        prefix = f"CNB_P_{number}_"
        lines += [
            f"{prefix}TYPE={shell_quote(process.type)}",
            f"{prefix}COMMAND={shell_quote(_words(process.command_list))}",
            f"{prefix}ARGS={shell_quote(_words(process.args or []))}",
            f"{prefix}DIRECT={'true' if process.direct else 'false'}",
            f"{prefix}WORKDIR={shell_quote(process.working_dir or '')}",
            f"{prefix}BP_API={shell_quote(apis.get(process.buildpack_id, ''))}",
            f"{prefix}EXEC_ENV={shell_quote(' '.join(process.exec_env or []))}",
        ]
    return "\n".join(lines) + "\n"


def launcher_script() -> bytes:
    """The launcher itself (``/cnb/lifecycle/launcher`` in every app image)."""
    return resources.files("pypack.lifecycle").joinpath("launcher.sh").read_bytes()
