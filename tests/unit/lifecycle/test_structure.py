"""Nothing but the creator and the phase binaries wires phases together.

The phase functions (``analyze_phase`` ... ``export_phase``) may be named only by the creator
(``lifecycle/creator.py``) and the binaries (``lifecycle/cmd/``); the phase logic underneath
them (``Detector``, ``Builder``, ``Exporter``, ``analyze``, ``restore``, ``export``) only by the
phase modules themselves. A platform that chains phases on its own fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pypack

SOURCE = Path(pypack.__file__).parent
PHASE_FUNCTIONS = {"analyze_phase", "detect_phase", "restore_phase", "build_phase", "export_phase"}
PHASE_LOGIC = {"Detector", "Builder", "Exporter", "analyze", "restore", "export"}


def _names_used(path: Path) -> set[str]:
    """Every name a module imports from ``pypack.lifecycle.phases`` or calls."""
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "pypack.lifecycle.phases"
        ):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
    return names


def _modules() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def test_only_the_creator_and_the_binaries_call_phase_functions() -> None:
    allowed = {SOURCE / "lifecycle" / "creator.py", *(SOURCE / "lifecycle" / "cmd").glob("*.py")}
    callers = {
        path.relative_to(SOURCE).as_posix()
        for path in _modules()
        if _names_used(path) & PHASE_FUNCTIONS and path not in allowed
        and path.parent != SOURCE / "lifecycle" / "phases"
    }  # fmt: skip
    assert callers == set()
    assert _names_used(SOURCE / "lifecycle" / "creator.py") >= PHASE_FUNCTIONS


def test_phase_logic_is_used_only_inside_the_phases() -> None:
    users = {
        path.relative_to(SOURCE).as_posix(): sorted(_names_used(path) & PHASE_LOGIC)
        for path in _modules()
        if path.parent != SOURCE / "lifecycle" / "phases" and _names_used(path) & PHASE_LOGIC
    }
    assert users == {}


def test_the_daemonless_platform_goes_through_create() -> None:
    assert "create" in _names_used(SOURCE / "pack" / "build.py")
