"""The app copied into ``/workspace``: project.toml include/exclude with .gitignore semantics,
modes and symlinks kept, excluded files never copied."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pypack.errors import UserError
from pypack.pack.app_source import Pattern, compile_patterns, copy_app, matched

Walked = tuple[str, list[str], list[str]]


def selects(patterns: list[str], relative: str, *, is_dir: bool = False) -> bool:
    return matched(compile_patterns(patterns), relative, is_dir)


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


# --- patterns ------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["", "   ", "# a comment", "  # indented comment"])
def test_blank_lines_and_comments_are_no_patterns(line: str) -> None:
    assert Pattern.compile(line) is None
    assert compile_patterns([line, "*.log"]) == [Pattern.compile("*.log")]


def test_a_pattern_without_a_slash_matches_at_any_depth() -> None:
    assert selects(["*.log"], "debug.log")
    assert selects(["*.log"], "src/app/trace.log")
    assert not selects(["*.log"], "debug.log.txt")


def test_a_leading_slash_anchors_at_the_app_root() -> None:
    assert selects(["/build"], "build", is_dir=True)
    assert not selects(["/build"], "src/build", is_dir=True)
    assert selects(["build"], "src/build", is_dir=True)


def test_a_slash_in_the_middle_anchors_too() -> None:
    assert selects(["docs/*.md"], "docs/guide.md")
    assert not selects(["docs/*.md"], "old/docs/guide.md")


def test_a_star_stays_within_one_component() -> None:
    pattern = Pattern.compile("docs/*.md")
    assert pattern is not None
    assert pattern.matches("docs/guide.md", False)
    assert not pattern.matches("docs/api/index.md", False)


def test_a_double_star_crosses_components() -> None:
    for relative in ("a/b", "a/x/b", "a/x/y/b"):
        assert selects(["a/**/b"], relative), relative
    assert not selects(["a/**/b"], "a/xb")
    assert selects(["**/core.py"], "core.py")
    assert selects(["**/core.py"], "src/app/core.py")
    assert selects(["src/**"], "src/app/core.py")
    assert selects(["src/**.py"], "src/app/core.py")


def test_a_trailing_double_star_matches_inside_but_not_the_directory_itself() -> None:
    pattern = Pattern.compile("logs/**")
    assert pattern is not None
    assert pattern.matches("logs/a", False)
    assert pattern.matches("logs/a/b", True)
    assert not pattern.matches("logs", True)


def test_a_trailing_slash_matches_directories_only() -> None:
    assert selects(["build/"], "build", is_dir=True)
    assert not selects(["build/"], "build", is_dir=False)
    assert selects(["build/"], "build/out.bin"), "a file inside a matched directory"
    assert selects(["build/"], "src/build/out.bin"), "a trailing slash does not anchor"


def test_question_mark_and_classes() -> None:
    assert selects(["file?.txt"], "file1.txt")
    assert not selects(["file?.txt"], "file10.txt")
    assert not selects(["a?b"], "a/b"), "? never matches a slash"
    assert selects(["[ab].txt"], "a.txt")
    assert not selects(["[ab].txt"], "c.txt")
    assert selects(["x[.txt"], "x[.txt"), "an unclosed [ is a plain character"


def test_other_characters_are_literal() -> None:
    assert selects(["a.b"], "a.b")
    assert not selects(["a.b"], "axb")
    assert selects(["(x)+"], "(x)+")
    assert not selects(["(x)+"], "xx")


def test_negation_re_includes_and_the_last_matching_pattern_decides() -> None:
    assert not selects(["*.log", "!keep.log"], "keep.log")
    assert selects(["*.log", "!keep.log"], "debug.log")
    assert selects(["!keep.log", "*.log"], "keep.log"), "a later pattern wins"


def test_a_file_in_a_selected_directory_is_selected_whatever_follows() -> None:
    # As git: a file cannot be re-included when a directory above it is excluded.
    assert selects(["build/", "!build/keep.txt"], "build/keep.txt")
    assert selects(["docs"], "docs/api/index.md")


def test_a_negated_directory_is_not_selected_nor_its_files() -> None:
    patterns = ["docs/*", "!docs/api"]
    assert selects(patterns, "docs/guide.md")
    assert not selects(patterns, "docs/api/index.md")


def test_no_pattern_matching_means_not_selected() -> None:
    assert not selects([], "main.py")
    assert not selects(["*.log"], "main.py")


def test_a_bang_class_is_negated_as_in_gitignore() -> None:
    assert selects(["[!.]*"], "main.py")
    assert not selects(["[!.]*"], ".hidden")


def test_a_malformed_pattern_is_a_one_line_error() -> None:
    with pytest.raises(UserError):
        compile_patterns(["[z-a].txt"])


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
