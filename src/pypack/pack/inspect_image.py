"""What ``pypack inspect`` shows of an app image, in pack's shapes.

pack inspects the image where it is kept locally (its daemon; for pypack the local store, else
the daemon) and in its registry, and prints each as "local" and "remote" information: the stack
ID, the base (run) image, the run images with the user's mirrors first, the buildpacks, the
processes (the default one first, ``shell`` ``bash`` unless direct, the command's first word as
``command`` and the rest with the arguments as ``args``, the image's working directory where a
process names none) and whether it is rebasable. The output is human-readable text, JSON, YAML
or TOML (pack's ``--output`` values and keys).
"""

from __future__ import annotations

import json
from typing import Any

from pypack.errors import UserError
from pypack.oci.image import Image
from pypack.spec.lifecycle_metadata import LifecycleMetadataLabel, RunImageForExport
from pypack.spec.metadata_toml import BuildMetadataLabel, Process

OUTPUT_FORMATS = ("human-readable", "json", "yaml", "toml")
STACK_ID_LABEL = "io.buildpacks.stack.id"
PROCESS_ENTRYPOINT = "/cnb/process/"

Info = dict[str, Any]


def image_info(image: Image, user_mirrors: dict[str, list[str]]) -> Info:
    """pack's information display of one app image; a non-CNB image is a :class:`UserError`."""
    lifecycle_label = image.label(LifecycleMetadataLabel.label_name)
    if not lifecycle_label:
        raise UserError("the image has no io.buildpacks.lifecycle.metadata label")
    lifecycle = LifecycleMetadataLabel.from_label(lifecycle_label)
    build_label = image.label(BuildMetadataLabel.label_name)
    build = BuildMetadataLabel.from_label(build_label) if build_label else BuildMetadataLabel()
    run: RunImageForExport = lifecycle.run_image
    if not run.image and lifecycle.stack is not None:
        run = lifecycle.stack.run_image
    run_images = [
        {"name": m, "user_configured": True} for m in user_mirrors.get(run.image or "", [])
    ]
    run_images += [{"name": n} for n in (run.image, *(run.mirrors or [])) if n]
    info: Info = {
        "stack": image.label(STACK_ID_LABEL) or "",
        "base_image": {
            "top_layer": lifecycle.run_image.top_layer,
            "reference": lifecycle.run_image.reference,
        },
        "run_images": run_images,
        "buildpacks": [_module(b.id, b.version, b.homepage) for b in build.buildpacks],
        "processes": _processes(image, build),
        "rebasable": image.label("io.buildpacks.rebasable") != "false",
    }
    if build.extensions is not None:
        info["extensions"] = [_module(e.id, e.version, e.homepage) for e in build.extensions]
    return info


def _module(module_id: str, version: str | None, homepage: str | None) -> Info:
    entry: Info = {"id": module_id, "version": version or ""}
    if homepage:
        entry["homepage"] = homepage
    return entry


def _processes(image: Image, build: BuildMetadataLabel) -> list[Info]:
    entrypoint = image.config.config.entrypoint if image.config.config else None
    default = ""
    if entrypoint and entrypoint[0].startswith(PROCESS_ENTRYPOINT):
        default = entrypoint[0].removeprefix(PROCESS_ENTRYPOINT)
    working_dir = (image.config.config.working_dir if image.config.config else None) or ""
    shown = [_process(p, p.type == default, working_dir) for p in build.processes]
    return sorted(shown, key=lambda p: not p["default"])


def _process(process: Process, default: bool, working_dir: str) -> Info:
    command = process.command_list
    return {
        "type": process.type,
        "shell": "" if process.direct else "bash",
        "command": command[0] if command else "",
        "default": default,
        "args": [*command[1:], *(process.args or [])],
        "working-dir": process.working_dir or working_dir,
    }


def render(name: str, local: Info | str | None, remote: Info | str | None, output: str) -> str:
    """The whole output for ``name``: each side is its information, an error text, or None
    when the image is not there."""
    if output == "human-readable":
        return _human(name, local, remote)
    document = {
        "image_name": name,
        "remote_info": remote if isinstance(remote, dict) else None,
        "local_info": local if isinstance(local, dict) else None,
    }
    if output == "json":
        return json.dumps(document, indent=2)
    if output == "yaml":
        import yaml

        return str(yaml.safe_dump(document, sort_keys=False, default_flow_style=False)).rstrip()
    import tomli_w

    return tomli_w.dumps({k: v for k, v in document.items() if v is not None}).rstrip()


def _human(name: str, local: Info | str | None, remote: Info | str | None) -> str:
    lines = [f"Inspecting image: '{name}'"]
    for title, side in (("REMOTE", remote), ("LOCAL", local)):
        lines += ["", f"{title}:", ""]
        if side is None:
            lines.append("(not present)")
        elif isinstance(side, str):
            lines.append(f"ERROR: {side}")
        else:
            lines += _human_info(side)
    return "\n".join(lines)


def _human_info(info: Info) -> list[str]:
    base = info["base_image"]
    lines = [f"Stack: {info['stack']}", "", "Base Image:"]
    if base["reference"]:
        lines.append(f"  Reference: {base['reference']}")
    lines += [f"  Top Layer: {base['top_layer']}", "", "Run Images:"]
    for run in info["run_images"]:
        lines.append(
            f"  {run['name']}" + (" (user-configured)" if run.get("user_configured") else "")
        )
    if not info["run_images"]:
        lines.append("  (none)")
    lines += ["", f"Rebasable: {str(info['rebasable']).lower()}", ""]
    for title, key in (("Buildpacks", "buildpacks"), ("Extensions", "extensions")):
        if key not in info:
            continue
        lines.append(f"{title}:")
        rows = [[m["id"], m["version"], m.get("homepage") or "-"] for m in info[key]]
        lines += (
            _table(["ID", "VERSION", "HOMEPAGE"], rows)
            if rows
            else [f"  ({key[:-1]} metadata not present)"]
        )
        lines.append("")
    if info["processes"]:
        lines.append("Processes:")
        rows = [
            [
                p["type"] + (" (default)" if p["default"] else ""),
                p["shell"],
                p["command"],
                " ".join(p["args"]),
                p["working-dir"],
            ]
            for p in info["processes"]
        ]
        lines += _table(["TYPE", "SHELL", "COMMAND", "ARGS", "WORK DIR"], rows)
    return [line.rstrip() for line in lines]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to the widest cell plus eight spaces, as pack's tab writer prints them."""
    widths = [max(len(r[i]) for r in (header, *rows)) + 8 for i in range(len(header))]
    return [
        "  " + "".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
