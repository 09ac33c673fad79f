"""Where the app came from, for the ``io.buildpacks.project.metadata`` label.

As pack: project.toml's ``version``/``source-url`` when it declares either (type ``project``),
else the app's git repository (type ``git``: HEAD's commit, ``git describe --tags --always``,
the branch and the tags at HEAD, the origin's URL), else nothing. Only an app directory that is
itself a repository's root counts, as pack opens the path without searching upwards.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any


def project_source(version: str | None, source_url: str | None, app: Path) -> dict[str, Any] | None:
    """The ``[source]`` table of ``project-metadata.toml`` for an app, or ``None``."""
    if version or source_url:
        return {
            "type": "project",
            "version": {"declared": version or ""},
            "metadata": {"url": source_url or ""},
        }
    return git_source(app)


def git_source(app: Path) -> dict[str, Any] | None:
    """The git data of ``app`` when it is a repository's root with a commit checked out."""
    if not (app / ".git").exists() or shutil.which("git") is None:
        return None
    commit = _git(app, "rev-parse", "--verify", "-q", "HEAD")
    if not commit:
        return None
    branch = _git(app, "symbolic-ref", "-q", "--short", "HEAD") or ""
    tags = _git(app, "tag", "--points-at", "HEAD", "--sort=-creatordate").split()
    return {
        "type": "git",
        "version": {"commit": commit, "describe": _git(app, "describe", "--tags", "--always")},
        "metadata": {"refs": [branch, *tags], "url": _remote_url(app)},
    }


def _remote_url(app: Path) -> str:
    remotes = _git(app, "remote").split()
    if not remotes:
        return ""
    name = "origin" if "origin" in remotes else remotes[0]
    return _git(app, "remote", "get-url", name)


def _git(app: Path, *args: str) -> str:
    """``git args`` in ``app``: its stripped output, empty when git fails."""
    done = subprocess.run(
        ["git", "-c", f"safe.directory={app}", "-C", str(app), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return done.stdout.strip() if done.returncode == 0 else ""
