"""The SBOM files a builder's lifecycle carries: ``/cnb/lifecycle/lifecycle.<ext>`` and
``launcher.<ext>`` in the three formats the lifecycle descriptor declares (CycloneDX, SPDX and
Syft JSON). From Platform API 0.11 the exporter copies them into every app image's SBOM, as
the reference lifecycle's own files are; without them it warns six times per export.

The lifecycle is pypack and the Python distributions of its wheels; the launcher is pypack's
POSIX sh script. Contents are fixed by what goes in (no timestamps beyond the epoch), so a
builder stays reproducible.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pypack import __version__

CREATED = "1980-01-01T00:00:00Z"

Package = tuple[str, str]


def wheel_packages(wheels: Sequence[Path]) -> list[Package]:
    """(name, version) of each wheel, from its file name (``name-version-...whl``)."""
    packages = []
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        packages.append((re.sub(r"[-_.]+", "-", name).lower(), version))
    return sorted(set(packages))


def lifecycle_sbom_files(wheels: Sequence[Path]) -> dict[str, bytes]:
    """File name → content for ``/cnb/lifecycle``."""
    components = {
        "lifecycle": [("pypack-cnb", __version__), *wheel_packages(wheels)],
        "launcher": [("pypack-cnb", __version__)],
    }
    files = {}
    for component, packages in components.items():
        documents = {
            "sbom.cdx.json": _cyclonedx(component, packages),
            "sbom.spdx.json": _spdx(component, packages),
            "sbom.syft.json": _syft(component, packages),
        }
        for extension, document in documents.items():
            text = json.dumps(document, indent=2, sort_keys=True) + "\n"
            files[f"{component}.{extension}"] = text.encode()
    return files


def _purl(name: str, version: str) -> str:
    return f"pkg:pypi/{name}@{version}"


def _cyclonedx(component: str, packages: list[Package]) -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.4",
        "version": 1,
        "metadata": {
            "timestamp": CREATED,
            "component": {"type": "application", "name": f"pypack {component}"},
        },
        "components": [
            {"type": "library", "name": n, "version": v, "purl": _purl(n, v)} for n, v in packages
        ],
    }


def _spdx(component: str, packages: list[Package]) -> dict[str, Any]:
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"pypack-{component}",
        "documentNamespace": f"https://pypack.invalid/spdx/{component}/{__version__}",
        "creationInfo": {"created": CREATED, "creators": [f"Tool: pypack-{__version__}"]},
        "packages": [
            {
                "name": n,
                "SPDXID": f"SPDXRef-Package-{n}",
                "versionInfo": v,
                "downloadLocation": "NOASSERTION",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": _purl(n, v),
                    }
                ],
            }
            for n, v in packages
        ],
    }


def _syft(component: str, packages: list[Package]) -> dict[str, Any]:
    return {
        "artifacts": [
            {"id": f"{n}@{v}", "name": n, "version": v, "type": "python", "purl": _purl(n, v)}
            for n, v in packages
        ],
        "source": {"type": "directory", "target": f"/cnb/lifecycle ({component})"},
        "descriptor": {"name": "pypack", "version": __version__},
        "schema": {"version": "16.0.0"},
    }
