"""An installer failure as one line for people: the package, the cause class and the fix.

pip and uv print pages on failure; the cause is nearly always one of a few: the index's TLS
certificate is not trusted (a TLS-intercepting proxy), a source build lacks a system library's
headers or config program, no release fits the Python in use, a download does not match the
lock's hash, or the index cannot be reached. Credentials in URLs never reach the log.
"""

from __future__ import annotations

import re

SYSTEM_LIBRARIES = (
    ("pg_config", "libpq-dev"),
    ("libpq-fe.h", "libpq-dev"),
    ("ffi.h", "libffi-dev"),
    ("openssl/", "libssl-dev"),
    ("mysql_config", "default-libmysqlclient-dev"),
    ("libxml/", "libxml2-dev"),
    ("libxslt/", "libxslt1-dev"),
    ("zlib.h", "zlib1g-dev"),
    ("jpeglib.h", "libjpeg-dev"),
    ("krb5-config", "libkrb5-dev"),
    ("lber.h", "libldap-dev"),
    ("Python.h", "python3-dev"),
)
"""A file a failed source build looked for, and the Debian package of the build image that has
it (the pypack stacks carry the common ones; see their stack.toml)."""
TLS = ("CERTIFICATE_VERIFY_FAILED", "invalid peer certificate", "UnknownIssuer")
NAME = r"`?([A-Za-z0-9][A-Za-z0-9_.\-]*)"
NO_VERSION = (
    re.compile(r"No matching distribution found for (\S+)"),
    re.compile(rf"there is no version of {NAME}"),
    re.compile(rf"{NAME}[=<>!~][^\s]*\s+depends on Python"),
    re.compile(rf"Because {NAME} was not found"),
    re.compile(rf"only {NAME}[<>=!~]"),
)
PACKAGE = (
    re.compile(r"Failed to fetch: `?\S*/simple/([A-Za-z0-9_.\-]+)/"),
    re.compile(
        r"Failed to (?:build|download|prepare distributions.*?|install) `?([A-Za-z0-9_.\-]+)"
    ),
    re.compile(r"Building wheel for ([A-Za-z0-9_.\-]+)"),
    re.compile(r"Failed to build ([A-Za-z0-9_.\-]+)"),
    re.compile(r"Collecting ([A-Za-z0-9_.\-]+)"),
)
UNREACHABLE = (
    "Failed to establish a new connection", "dns error", "Connection refused",
    "Could not fetch URL", "Name or service not known", "error sending request",
)  # fmt: skip
CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def redact(text: str) -> str:
    """``text`` with the user:password part of every URL replaced by ``***``."""
    return CREDENTIALS.sub(r"\1***@", text)


def _package(output: str) -> str:
    for pattern in PACKAGE:
        found = pattern.findall(output)
        if found:
            return str(found[-1]).strip("`").split("==")[0]
    return ""


def explain(output: str, installer: str, python: str) -> str:
    """The one line that ends a failed install. ``python`` says which Python and where its
    version came from (``Python 3.11.2, the build image's``)."""
    package = _package(output)
    subject = f"{installer} could not install {package}" if package else f"{installer} failed"
    if any(marker in output for marker in TLS):
        return (
            f"{subject}: the package index's TLS certificate is not trusted (a proxy that "
            "intercepts TLS?); use --host-ca-certs or a ca-certificates binding"
        )
    for needle, debian_package in SYSTEM_LIBRARIES:
        if needle in output and ("not found" in output or "No such file" in output):
            return (
                f"{subject}: its source build needs {needle}, which the build image's Debian "
                f"package {debian_package} provides; add it to the stack or use a pypack builder"
            )
    if "do not match the hashes" in output.lower() or "hash mismatch" in output.lower():
        return f"{subject}: a downloaded file does not match the hash in the lock; re-lock"
    for pattern in NO_VERSION:
        match = pattern.search(output)
        if match and ("No matching distribution" in output or "No solution found" in output):
            name = match.group(1).strip("`")
            return (
                f"{installer} found no version of {name} that fits the request on {python}; "
                "ask for another version of either"
            )
    if any(marker in output for marker in UNREACHABLE):
        return f"{subject}: the package index cannot be reached; check the network or the index URL"
    last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "")
    return f"{subject}: {redact(last)[:300]}"
