"""Service bindings the installer uses (the Kubernetes service binding layout Paketo reads):
``<platform>/bindings/<name>/type`` names the kind, the other files are its entries.

- ``ca-certificates``: every entry is a PEM file; with the image's bundle they make the trust
  store the installer uses (written outside the layers, so no certificate ends up in the image).
- ``pip``: a ``pip.conf`` entry (a private index, often with credentials): pip reads it as its
  config file; uv gets its index settings translated. The credentials never go into a layer, a
  layer's key or the log (the key holds the URL without them).
"""

from __future__ import annotations

import configparser
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pypack.buildpacks.python.failures import redact
from pypack.buildpacks.python.installer import CA_BUNDLE


@dataclass
class Bindings:
    """Installer variables from the bindings, and their credential-free form for the key."""

    settings: dict[str, str] = field(default_factory=dict)
    key: list[str] = field(default_factory=list)


def binding_root(platform_dir: Path, env: dict[str, str]) -> Path:
    """``SERVICE_BINDING_ROOT`` when set, else ``<platform>/bindings``."""
    return Path(env.get("SERVICE_BINDING_ROOT") or platform_dir / "bindings")


def _entries(binding: Path) -> list[Path]:
    return sorted(
        p for p in binding.iterdir() if p.is_file() and p.name not in ("type", "provider")
    )


def read_bindings(root: Path) -> Bindings:
    """The ``ca-certificates`` and ``pip`` bindings under ``root``."""
    found = Bindings()
    if not root.is_dir():
        return found
    certificates: list[bytes] = []
    for binding in sorted(p for p in root.iterdir() if (p / "type").is_file()):
        kind = (binding / "type").read_text().strip()
        if kind == "ca-certificates":
            certificates += [entry.read_bytes() for entry in _entries(binding)]
            found.key.append(f"ca-certificates:{binding.name}")
        elif kind == "pip" and (binding / "pip.conf").is_file():
            conf = binding / "pip.conf"
            found.settings["PIP_CONFIG_FILE"] = str(conf)
            parser = configparser.ConfigParser()
            parser.read(conf)
            for option, name in (("index-url", "PIP_INDEX_URL"),
                                 ("extra-index-url", "PIP_EXTRA_INDEX_URL")):  # fmt: skip
                value = parser.get("global", option, fallback="")
                if value:
                    found.settings[name] = " ".join(value.split())
                    found.key.append(f"{option}={redact(value)}")
    if certificates:
        base = CA_BUNDLE.read_bytes() if CA_BUNDLE.is_file() else b""
        fd, bundle = tempfile.mkstemp(prefix="pypack-ca-", suffix=".pem")
        with os.fdopen(fd, "wb") as out:
            out.write(b"\n".join([base, *certificates]))
        for name in ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE"):
            found.settings[name] = bundle
    return found
