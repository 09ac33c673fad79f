"""pypack/python's failure lines, SBOM, bindings and installer flags, on real tool output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pypack.buildpacks.python import installer as installer_module
from pypack.buildpacks.python.bindings import read_bindings
from pypack.buildpacks.python.failures import explain, redact
from pypack.buildpacks.python.installer import Installer
from pypack.buildpacks.python.sbom import cyclonedx, installed, pinned_hashes

UV_TLS = """error: Failed to fetch: `https://index.example.invalid/simple/gunicorn/`
  Caused by: error sending request for url (https://index.example.invalid/simple/gunicorn/)
  Caused by: invalid peer certificate: UnknownIssuer
"""
PIP_PG_CONFIG = """Collecting psycopg2==2.9.9
  Downloading psycopg2-2.9.9.tar.gz (384 kB)
  Preparing metadata (setup.py): finished with status 'error'
  error: subprocess-exited-with-error
  Error: pg_config executable not found.
  pg_config is required to build psycopg2 from source.
"""
PIP_NO_VERSION = """ERROR: Could not find a version that satisfies the requirement django<6.1,>=6.0
ERROR: No matching distribution found for django<6.1,>=6.0
"""
UV_NO_VERSION = """  x No solution found when resolving dependencies:
  `-> Because the current Python version (3.11.2) does not satisfy Python>=3.12 and django==6.0
      depends on Python>=3.12, we can conclude that django==6.0 cannot be used.
"""


def test_tls_failure_names_the_fix() -> None:
    line = explain(UV_TLS, "uv", "Python 3.11.2")
    assert line == (
        "uv could not install gunicorn: the package index's TLS certificate is not trusted (a "
        "proxy that intercepts TLS?); use --host-ca-certs or a ca-certificates binding"
    )


def test_missing_pg_config_names_the_debian_package() -> None:
    line = explain(PIP_PG_CONFIG, "pip", "Python 3.11.2")
    assert line.startswith("pip could not install psycopg2: its source build needs pg_config")
    assert "Debian package libpq-dev" in line


@pytest.mark.parametrize("output", [PIP_NO_VERSION, UV_NO_VERSION])
def test_no_version_names_the_python_and_where_it_came_from(output: str) -> None:
    why = "Python 3.11.2, which satisfies Python 3.11 (from .python-version)"
    line = explain(output, "uv", why)
    assert "found no version of django" in line
    assert line.endswith(f"on {why}; ask for another version of either")


def test_an_unknown_failure_ends_with_its_last_line_without_credentials() -> None:
    output = "resolving\nerror: https://bob:s3cret@pypi.example.invalid/simple/x/ said 418\n"
    line = explain(output, "uv", "Python 3.11.2")
    assert "s3cret" not in line
    assert line == "uv failed: error: https://***@pypi.example.invalid/simple/x/ said 418"
    assert redact("see http://u:p@h/ and https://h2/") == "see http://***@h/ and https://h2/"


def _dist_info(site: Path, name: str, version: str, headers: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n{headers}\nlong text\n"
    )


def test_sbom_has_versions_licences_and_the_locked_hashes(tmp_path: Path) -> None:
    site = tmp_path / "venv/lib/python3.11/site-packages"
    _dist_info(site, "Flask", "3.1.3", "License-Expression: BSD-3-Clause")
    _dist_info(site, "gunicorn", "23.0.0", "License: MIT")
    _dist_info(site, "six", "1.17.0", "Classifier: License :: OSI Approved :: MIT License")
    lock = ["flask==3.1.3 \\", "    --hash=sha256:" + "b" * 64 + " \\",
            "    --hash=sha256:" + "a" * 64, "six==1.17.0"]  # fmt: skip
    document = json.loads(cyclonedx(installed(tmp_path / "venv"), pinned_hashes(lock)))
    by_name = {c["name"]: c for c in document["components"]}
    assert by_name["Flask"]["purl"] == "pkg:pypi/flask@3.1.3"
    assert by_name["Flask"]["licenses"] == [{"license": {"name": "BSD-3-Clause"}}]
    assert by_name["Flask"]["hashes"] == [
        {"alg": "SHA-256", "content": "a" * 64},
        {"alg": "SHA-256", "content": "b" * 64},
    ]
    assert by_name["gunicorn"]["licenses"] == [{"license": {"name": "MIT"}}]
    assert by_name["six"]["licenses"] == [{"license": {"name": "MIT License"}}]
    assert "hashes" not in by_name["six"]


def test_bindings_give_a_trust_store_and_an_index_without_credentials_in_the_key(
    tmp_path: Path,
) -> None:
    ca = tmp_path / "bindings/corp-ca"
    ca.mkdir(parents=True)
    (ca / "type").write_text("ca-certificates\n")
    (ca / "corp.pem").write_text("-----BEGIN CERTIFICATE-----\nCORP\n-----END CERTIFICATE-----\n")
    index = tmp_path / "bindings/index"
    index.mkdir()
    (index / "type").write_text("pip")
    (index / "pip.conf").write_text(
        "[global]\nindex-url = https://deploy:t0ken@pypi.corp.invalid/simple\n"
    )
    found = read_bindings(tmp_path / "bindings")
    bundle = Path(found.settings["SSL_CERT_FILE"])
    try:
        assert "CORP" in bundle.read_text()
        assert found.settings["PIP_CONFIG_FILE"] == str(index / "pip.conf")
        assert found.settings["PIP_INDEX_URL"] == "https://deploy:t0ken@pypi.corp.invalid/simple"
        assert found.key == [
            "ca-certificates:corp-ca",
            "index-url=https://***@pypi.corp.invalid/simple",
        ]
        assert "t0ken" not in " ".join(found.key)
    finally:
        bundle.unlink()
    assert read_bindings(tmp_path / "none").settings == {}


def test_uv_gets_pips_index_settings_as_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_uv = tmp_path / "uv"
    fake_uv.write_text("#!/bin/sh\necho 'uv 0.0.1'\n")
    fake_uv.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(installer_module, "CA_BUNDLE", tmp_path / "no-bundle")
    settings = {
        "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "http://127.0.0.1:1/ /wheels",
        "PIP_CERT": "/tmp/ca.pem", "UV_INDEX_STRATEGY": "unsafe-best-match",
    }  # fmt: skip
    chosen = Installer.choose("uv", settings, "python3")
    assert (chosen.name, chosen.version) == ("uv", "uv 0.0.1")
    assert chosen.flags == ("--find-links=http://127.0.0.1:1/", "--find-links=/wheels",
                            "--no-index")  # fmt: skip
    assert chosen.env["SSL_CERT_FILE"] == "/tmp/ca.pem"
    assert chosen.env["UV_INDEX_STRATEGY"] == "unsafe-best-match"
    assert chosen.env["SOURCE_DATE_EPOCH"] == installer_module.SOURCE_DATE_EPOCH
    pip = Installer.choose("pip", settings, "python3")
    assert (pip.name, pip.flags, pip.env["PIP_NO_INDEX"]) == ("pip", (), "1")
