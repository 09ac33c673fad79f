"""The app copied into ``/workspace``: project.toml include/exclude with .gitignore semantics
(checked against ``git check-ignore``), else the app's .dockerignore or .gitignore; modes and
symlinks kept, excluded files never copied."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pypack.errors import UserError
from pypack.pack.app_filter import AppFilter
from pypack.pack.app_source import copy_app as copy_through

Walked = tuple[str, list[str], list[str]]


def copy_app(
    source: Path, dest: Path, *, include: list[str] | None, exclude: list[str] | None
) -> int:
    """Copy with project.toml's filters."""
    return copy_through(source, dest, AppFilter.for_app(source, include, exclude))


def tree(root: Path) -> list[str]:
    """Every entry under ``root``, relative, directories with a trailing slash."""
    return sorted(
        f"{p.relative_to(root)}/" if p.is_dir() and not p.is_symlink() else str(p.relative_to(root))
        for p in root.rglob("*")
    )


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """An app with sources, tests, logs, a build directory and an empty directory."""
    root = tmp_path / "app"
    files = {
        "main.py": "print('hi')\n",
        "README.md": "# app\n",
        "debug.log": "noise\n",
        "keep.log": "wanted\n",
        "src/app/__init__.py": "",
        "src/app/core.py": "x = 1\n",
        "src/app/trace.log": "noise\n",
        "tests/test_core.py": "def test(): pass\n",
        "build/out.bin": "binary\n",
        "docs/guide.md": "guide\n",
        "docs/api/index.md": "api\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "empty").mkdir()
    return root


# --- patterns, checked against git itself ---------------------------------------------------

PATTERN_TABLE = [
    (["*.log"], ["debug.log", "src/app/trace.log", "debug.log.txt"]),
    (["/build"], ["build/", "src/build/", "build/out.bin"]),
    (["build"], ["src/build/", "build", "rebuild"]),
    (["docs/*.md"], ["docs/guide.md", "old/docs/guide.md", "docs/api/index.md"]),
    (["a/**/b"], ["a/b", "a/x/b", "a/x/y/b", "a/xb"]),
    (["**/core.py", "src/**"], ["core.py", "src/app/core.py", "lib/core.py", "srcx/a"]),
    (["src/**.py"], ["src/app/core.py", "src/core.py", "other/x.py"]),
    (["logs/**"], ["logs/a", "logs/a/b", "logs/"]),
    (["build/"], ["build/", "build", "build/out.bin", "src/build/out.bin"]),
    (["file?.txt", "a?b"], ["file1.txt", "file10.txt", "a/b", "axb"]),
    (["[ab].txt", "x[.txt"], ["a.txt", "c.txt", "x[.txt"]),
    (["a.b", "(x)+"], ["a.b", "axb", "(x)+", "xx"]),
    (["*.log", "!keep.log"], ["keep.log", "debug.log", "src/keep.log"]),
    (["!keep.log", "*.log"], ["keep.log"]),
    (["build/", "!build/keep.txt"], ["build/keep.txt", "build/"]),
    (["docs/*", "!docs/api"], ["docs/guide.md", "docs/api/index.md", "docs/api/"]),
    (["[!.]*"], ["main.py", ".hidden"]),
    (["#comment", "", "   ", "\\#hash"], ["#comment", "#hash", "x"]),
    (["trailing  ", "sp\\ "], ["trailing", "sp "]),
    (["*"], ["anything", "deep/er/file"]),
    (["/*.md", "!README.md"], ["README.md", "CHANGES.md", "docs/x.md"]),
    ([".venv", "__pycache__/", "*.py[cod]"], [".venv/", "a/__pycache__/x", "m.pyc", "m.py"]),
]


def git_ignores(patterns: list[str], relative: str, repo: Path) -> bool:
    """What ``git check-ignore`` says of ``relative`` under a .gitignore of ``patterns``."""
    (repo / ".gitignore").write_text("\n".join(patterns) + "\n")
    done = subprocess.run(
        ["git", "-C", str(repo), "check-ignore", "--no-index", "-q", relative], check=False
    )
    assert done.returncode in (0, 1), done
    return done.returncode == 0


def filter_excludes(app_filter: AppFilter, relative: str) -> bool:
    """Whether copying leaves ``relative`` out: a directory (trailing ``/``) skipped, or a file
    dropped, or a directory above either skipped."""
    parts = relative.rstrip("/").split("/")
    if any(app_filter.skips_dir("/".join(parts[: i + 1])) for i in range(len(parts) - 1)):
        return True
    if relative.endswith("/"):
        return app_filter.skips_dir(relative.rstrip("/"))
    return not app_filter.keeps_file(relative)


@pytest.mark.parametrize(("patterns", "paths"), PATTERN_TABLE)
def test_excludes_decide_as_git_check_ignore(
    patterns: list[str], paths: list[str], tmp_path: Path
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    app_filter = AppFilter.for_app(tmp_path, None, patterns)
    for relative in paths:
        expected = git_ignores(patterns, relative, tmp_path)
        assert filter_excludes(app_filter, relative) == expected, (patterns, relative)


def test_a_malformed_pattern_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(UserError) as raised:
        AppFilter.for_app(tmp_path, None, ["[z-a].txt"])
    assert str(raised.value).startswith(
        "project.toml exclude: a pattern is not a valid gitignore pattern: "
    )


# --- copying -------------------------------------------------------------------------------


def test_without_filters_everything_is_copied(app: Path, tmp_path: Path) -> None:
    dest = tmp_path / "workspace"
    dest.mkdir()
    assert copy_app(app, dest, include=None, exclude=None) == 11
    assert tree(dest) == tree(app)
    assert (dest / "src" / "app" / "core.py").read_text() == "x = 1\n"


def test_modes_and_times_are_kept(app: Path, tmp_path: Path) -> None:
    script = app / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o750)
    (app / "secret.txt").write_text("s\n")
    (app / "secret.txt").chmod(0o600)
    os.utime(script, (1_600_000_000, 1_600_000_000))
    dest = tmp_path / "workspace"
    copy_app(app, dest, include=None, exclude=None)
    assert stat.S_IMODE((dest / "run.sh").stat().st_mode) == 0o750
    assert stat.S_IMODE((dest / "secret.txt").stat().st_mode) == 0o600
    assert (dest / "run.sh").stat().st_mtime == 1_600_000_000


def test_file_symlinks_are_copied_as_links(app: Path, tmp_path: Path) -> None:
    (app / "current.py").symlink_to("main.py")
    (app / "dangling").symlink_to("does/not/exist")
    (app / "absolute").symlink_to("/etc/hostname")
    dest = tmp_path / "workspace"
    assert copy_app(app, dest, include=None, exclude=None) == 14
    assert os.readlink(dest / "current.py") == "main.py"
    assert os.readlink(dest / "dangling") == "does/not/exist"
    assert os.readlink(dest / "absolute") == "/etc/hostname"


def test_a_directory_symlink_is_copied_as_a_link(app: Path, tmp_path: Path) -> None:
    (app / "lib").symlink_to("src/app")
    dest = tmp_path / "workspace"
    copy_app(app, dest, include=None, exclude=None)
    assert (dest / "lib").is_symlink()
    assert os.readlink(dest / "lib") == "src/app"


def test_a_named_pipe_is_skipped(app: Path, tmp_path: Path) -> None:
    os.mkfifo(app / "control.fifo")
    dest = tmp_path / "workspace"
    assert copy_app(app, dest, include=None, exclude=None) == 11
    assert not (dest / "control.fifo").exists()


def test_exclude_skips_files_and_whole_directories(app: Path, tmp_path: Path) -> None:
    dest = tmp_path / "workspace"
    copied = copy_app(app, dest, include=None, exclude=["*.log", "!keep.log", "build/", "/docs"])
    assert tree(dest) == [
        "README.md",
        "empty/",
        "keep.log",
        "main.py",
        "src/",
        "src/app/",
        "src/app/__init__.py",
        "src/app/core.py",
        "tests/",
        "tests/test_core.py",
    ]
    assert copied == 6


def test_an_excluded_directory_is_never_entered(
    app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (app / "build" / "deep" / "deeper").mkdir(parents=True)
    walked: list[str] = []
    real_walk = os.walk

    def recording(top: str, *args: Any, **kwargs: Any) -> Iterator[Walked]:
        for entry in real_walk(top, *args, **kwargs):
            walked.append(os.path.relpath(entry[0], app))
            yield entry

    monkeypatch.setattr(os, "walk", recording)
    copy_app(app, tmp_path / "workspace", include=None, exclude=["build"])
    assert "src/app" in walked
    assert not [w for w in walked if w.startswith("build")]


def test_exclude_anchored_in_the_middle_leaves_deeper_matches(app: Path, tmp_path: Path) -> None:
    (app / "vendor" / "docs").mkdir(parents=True)
    (app / "vendor" / "docs" / "guide.md").write_text("vendored\n")
    dest = tmp_path / "workspace"
    copy_app(app, dest, include=None, exclude=["docs/*.md"])
    assert (dest / "vendor" / "docs" / "guide.md").is_file()
    assert not (dest / "docs" / "guide.md").exists()
    assert (dest / "docs" / "api" / "index.md").is_file(), "* does not cross a slash"


def test_include_keeps_only_matching_files_and_drops_empty_directories(
    app: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "workspace"
    copied = copy_app(app, dest, include=["*.py", "README.md"], exclude=None)
    assert tree(dest) == [
        "README.md",
        "main.py",
        "src/",
        "src/app/",
        "src/app/__init__.py",
        "src/app/core.py",
        "tests/",
        "tests/test_core.py",
    ]
    assert copied == 5


def test_include_of_a_directory_takes_everything_in_it(app: Path, tmp_path: Path) -> None:
    dest = tmp_path / "workspace"
    assert copy_app(app, dest, include=["docs/"], exclude=None) == 2
    assert tree(dest) == ["docs/", "docs/api/", "docs/api/index.md", "docs/guide.md"]


def test_include_with_negation(app: Path, tmp_path: Path) -> None:
    dest = tmp_path / "workspace"
    copy_app(app, dest, include=["*.log", "!debug.log"], exclude=None)
    assert tree(dest) == ["keep.log", "src/", "src/app/", "src/app/trace.log"]


def test_an_include_that_matches_nothing_copies_nothing(app: Path, tmp_path: Path) -> None:
    dest = tmp_path / "workspace"
    dest.mkdir()
    assert copy_app(app, dest, include=["*.rs"], exclude=None) == 0
    assert tree(dest) == []


def test_an_empty_exclude_list_is_no_filter(app: Path, tmp_path: Path) -> None:
    dest = tmp_path / "workspace"
    assert copy_app(app, dest, include=None, exclude=[]) == 11
    assert (dest / "empty").is_dir()


# --- the app's own ignore files ------------------------------------------------------------


def test_the_apps_gitignore_excludes_when_project_toml_sets_nothing(
    app: Path, tmp_path: Path
) -> None:
    (app / ".gitignore").write_text("*.log\nbuild/\n")
    app_filter = AppFilter.for_app(app, None, None)
    assert app_filter.source == ".gitignore"
    dest = tmp_path / "workspace"
    copy_through(app, dest, app_filter)
    assert not (dest / "src" / "app" / "trace.log").exists()
    assert not (dest / "build").exists()
    assert (dest / ".gitignore").is_file()
    assert (dest / "main.py").is_file()


def test_a_dockerignore_wins_and_is_anchored_at_the_app_root(app: Path, tmp_path: Path) -> None:
    # docker matches .dockerignore patterns from the context root: *.log is only the top level
    (app / ".gitignore").write_text("*.py\n")
    (app / ".dockerignore").write_text("# logs\n*.log\n!keep.log\n/build\ndocs/**/*.md\n")
    app_filter = AppFilter.for_app(app, None, None)
    assert app_filter.source == ".dockerignore"
    dest = tmp_path / "workspace"
    copy_through(app, dest, app_filter)
    assert not (dest / "debug.log").exists()
    assert (dest / "keep.log").is_file()
    assert (dest / "src" / "app" / "trace.log").is_file(), "not at the root: kept"
    assert not (dest / "build").exists()
    assert not (dest / "docs" / "api" / "index.md").exists()
    assert (dest / "main.py").is_file(), ".gitignore is not read when .dockerignore is there"


@pytest.mark.parametrize(("include", "exclude"), [(None, []), (["*"], None)])
def test_project_toml_filters_replace_the_ignore_files(
    app: Path, include: list[str] | None, exclude: list[str] | None
) -> None:
    (app / ".gitignore").write_text("*\n")
    app_filter = AppFilter.for_app(app, include, exclude)
    assert app_filter.source == "project.toml"
    assert app_filter.keeps_file("main.py")


def test_no_filter_at_all(app: Path) -> None:
    app_filter = AppFilter.for_app(app, None, None)
    assert app_filter.source is None
    assert app_filter.keeps_file("debug.log")
    assert not app_filter.skips_dir("build")
