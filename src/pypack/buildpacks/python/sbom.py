"""A CycloneDX SBOM of what is installed in the venv: names, versions, licences, and the
SHA-256 hashes the lock or requirements file pinned them to."""

from __future__ import annotations

import email.parser
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pypack.buildpacks.python.locks import normalize

HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-]*)")


@dataclass(frozen=True)
class Distribution:
    """One installed distribution, read from its ``.dist-info/METADATA``."""

    name: str
    version: str
    licence: str


def _licence(metadata: email.message.Message) -> str:
    expression = metadata.get("License-Expression")
    if expression:
        return str(expression)
    text = str(metadata.get("License") or "").strip()
    if text and "\n" not in text and len(text) < 80 and text.upper() != "UNKNOWN":
        return text
    classifiers = [c.rsplit(" :: ", 1)[-1] for c in metadata.get_all("Classifier") or []
                   if c.startswith("License ::")]  # fmt: skip
    return ", ".join(classifiers)


def installed(venv: Path) -> list[Distribution]:
    """Every distribution in ``venv``'s site-packages, sorted by name."""
    parser = email.parser.Parser()
    found = []
    for path in venv.glob("lib/python3*/site-packages/*.dist-info/METADATA"):
        metadata = parser.parsestr(path.read_text(errors="replace"), headersonly=True)
        if metadata.get("Name") and metadata.get("Version"):
            found.append(Distribution(metadata["Name"], metadata["Version"], _licence(metadata)))
    return sorted(found, key=lambda d: normalize(d.name))


def pinned_hashes(lines: Iterable[str]) -> dict[str, list[str]]:
    """Normalized name → the SHA-256 hashes of a requirements file's lines (continuations
    joined)."""
    joined = "\n".join(lines).replace("\\\n", " ")
    hashes: dict[str, list[str]] = {}
    for line in joined.splitlines():
        name = NAME.match(line)
        found = HASH.findall(line)
        if name and found:
            hashes[normalize(name.group(1))] = sorted(set(found))
    return hashes


def cyclonedx(distributions: list[Distribution], hashes: dict[str, list[str]]) -> str:
    """A CycloneDX 1.5 JSON document listing ``distributions`` as PyPI libraries."""
    components = []
    for dist in distributions:
        component: dict[str, object] = {
            "type": "library",
            "name": dist.name,
            "version": dist.version,
            "purl": f"pkg:pypi/{normalize(dist.name)}@{dist.version}",
        }
        if dist.licence:
            component["licenses"] = [{"license": {"name": dist.licence}}]
        if normalize(dist.name) in hashes:
            component["hashes"] = [
                {"alg": "SHA-256", "content": h} for h in hashes[normalize(dist.name)]
            ]
        components.append(component)
    document = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
                "components": components}  # fmt: skip
    return json.dumps(document, indent=2, sort_keys=True)
