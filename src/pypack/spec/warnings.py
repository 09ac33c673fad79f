"""Warnings for the files a person writes: keys nobody reads, and IDs the spec reserves.

buildpack.toml, extension.toml and project.toml with an unknown key are read as pack reads them:
the key is ignored with a warning (``Ignoring unexpected key(s) in descriptor for buildpack``,
``The following keys declared in project.toml are not supported``). builder.toml and
package.toml refuse unknown keys instead, as pack does (see ``refuse_unknown_keys``).
"""

from __future__ import annotations

from pypack.spec._base import Document, unknown_keys
from pypack.spec.ids import spec_id_warning
from pypack.spec.module import ModuleInfo


def document_warnings(document: Document, source: str) -> list[str]:
    """One ``<source>: <key>: <problem>`` line for each thing a person should fix."""
    lines = [
        f"{source}: {key}: unknown key; it is ignored (check its spelling)"
        for key in unknown_keys(document)
    ]
    for table in ("buildpack", "extension"):
        info = getattr(document, table, None)
        if isinstance(info, ModuleInfo):
            problem = spec_id_warning(info.id)
            if problem:
                lines.append(f"{source}: {table}.id: {problem}")
    return lines
