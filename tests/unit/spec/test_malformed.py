"""Malformed CNB files give one line naming the file, the key and the problem — never a traceback.

Each case goes through ``pypack validate``, the way a person meets it, and checks the exact
message, the exit code, and that the file was left as it was.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pypack.pack.cli import main

BP = 'api = "0.10"\n[buildpack]\nid = "a/b"\nversion = "1.0.0"\n'
BUILDER = '[build]\nimage = "b"\n[[run.images]]\nimage = "r"\n'

# (file name, --kind or None, content, expected "<key>: <problem>" after "<path>: ")
CASES: list[tuple[str, str | None, str, str]] = [
    ("buildpack.toml", None, '[buildpack]\nid = "a"\n', "api: required"),
    ("buildpack.toml", None, 'api = "0.10"\n[buildpack]\nname = "x"\n', "buildpack.id: required"),
    (
        "buildpack.toml",
        None,
        'api = 0.10\n[buildpack]\nid = "a"\n',
        'api: must be a quoted version string like "0.12"',
    ),
    (
        "buildpack.toml",
        None,
        'api = "zero.ten"\n[buildpack]\nid = "a"\n',
        "api: 'zero.ten' is not an API version like \"0.12\"",
    ),
    (
        "buildpack.toml",
        None,
        'api = "0.10"\n[buildpack]\nid = "my buildpack"\n',
        "buildpack.id: 'my buildpack' may hold only letters, digits, '.', '/' and '-'",
    ),
    (
        "buildpack.toml",
        None,
        'api = "0.10"\n[buildpack]\nid = "config"\n',
        "buildpack.id: 'config' is reserved; choose another ID",
    ),
    (
        "buildpack.toml",
        None,
        'api = "0.10"\n[buildpack]\nid = "a"\nclear-env = "yes"\n',
        "buildpack.clear-env: must be true or false",
    ),
    (
        "buildpack.toml",
        None,
        'api = "0.10"\n[buildpack]\nid = "a"\n[[buildpack.licenses]]\n',
        "buildpack.licenses[0]: a license needs a 'type' or a 'uri'",
    ),
    (
        "buildpack.toml",
        None,
        BP + '[[order]]\n[[order.group]]\nversion = "1"\n',
        "order[0].group[0].id: required",
    ),
    (
        "buildpack.toml",
        None,
        BP + '[[order]]\n[[order.group]]\nid = "x"\n[[stacks]]\nid = "s"\n',
        "a composite buildpack ([[order]]) must not declare [[stacks]]",
    ),
    (
        "buildpack.toml",
        None,
        BP + '[[targets]]\nos = ["linux"]\n',
        "targets[0].os: must be a string",
    ),
    (
        "buildpack.toml",
        None,
        BP + '[[targets]]\nvariant = "v8"\narch-variant = "v7"\n',
        "targets[0]: both 'variant' and 'arch-variant' are set; keep only 'variant'",
    ),
    (
        "buildpack.toml",
        None,
        'api = "0.10"\n[buildpack\nid = "a"\n',
        "invalid TOML: Expected ']' at the end of a table declaration (at line 2, column 11)",
    ),
    (
        "extension.toml",
        None,
        'api = "0.10"\n[extension]\nversion = "1"\n',
        "extension.id: required",
    ),
    (
        "order.toml",
        None,
        '[[order]]\n[[order.group]]\nid = "a"\n',
        "order[0].group[0].version: required",
    ),
    (
        "order.toml",
        None,
        '[[order]]\n[[order.group]]\nid = "a"\nversion = "1"\noptional = "no"\n',
        "order[0].group[0].optional: must be true or false",
    ),
    (
        "order.toml",
        None,
        "[[order]]\ngroups = []\n",
        "order[0].groups: unknown key; check its spelling against the spec (and 1 more problem)",
    ),
    ("group.toml", None, '[[group]]\nid = "a"\napi = "0.10"\n', "group[0].version: required"),
    (
        "plan.toml",
        None,
        '[[entries]]\n[[entries.requires]]\nname = "x"\n',
        "entries[0].providers: required",
    ),
    (
        "analyzed.toml",
        None,
        "[run-image]\nreference = 5\n",
        "run-image.reference: must be a string",
    ),
    (
        "analyzed.toml",
        None,
        '[image]\nref = "x"\n',
        "image.ref: unknown key; check its spelling against the spec (and 1 more problem)",
    ),
    (
        "analyzed.toml",
        None,
        '[metadata.run-image]\ntop-layer = "a"\ntopLayer = "b"\n',
        "metadata.run-image: both 'top-layer' and 'topLayer' are set; keep only 'top-layer'",
    ),
    ("metadata.toml", None, '[[processes]]\ntype = "web"\n', "processes[0].command: required"),
    (
        "report.toml",
        None,
        '[image]\ntags = ["a"]\nmanifest-size = "1487"\n',
        "image.manifest-size: must be an integer",
    ),
    ("run.toml", None, '[[images]]\nmirrors = ["m"]\n', "images[0].image: required"),
    (
        "stack.toml",
        None,
        '[run-image]\nimage = "x"\nmirror = ["y"]\n',
        "run-image.mirror: unknown key; check its spelling against the spec",
    ),
    (
        "system.toml",
        None,
        '[[system.pre.buildpacks]]\nversion = "1"\n',
        "system.pre.buildpacks[0].id: required",
    ),
    (
        "launch.toml",
        None,
        '[[processes]]\ntype = "web/app"\ncommand = ["x"]\n',
        "processes[0].type: 'web/app' may hold only letters, digits, '.', '_' and '-'",
    ),
    (
        "launch.toml",
        None,
        '[[processes]]\ntype = "web"\ncommand = ["a"]\ndefault = true\n'
        '[[processes]]\ntype = "w"\ncommand = ["b"]\ndefault = true\n',
        "multiple default process types are not allowed: web, w",
    ),
    (
        "launch.toml",
        None,
        '[[processes]]\ntype = "web"\ncommand = []\n',
        "processes[0]: process 'web' has an empty command",
    ),
    ("launch.toml", None, '[[labels]]\nkey = "k"\n', "labels[0].value: required"),
    ("launch.toml", None, '[[slices]]\npaths = "static/*"\n', "slices[0].paths: must be an array"),
    (
        "build.toml",
        None,
        '[[unmet]]\nversion = "1"\n',
        "unmet[0].version: unknown key; check its spelling against the spec (and 1 more problem)",
    ),
    ("store.toml", None, 'metadata = "x"\n', "metadata: must be a table"),
    (
        "cpython.toml",
        "layer",
        "launch = true\n[metadata]\n",
        "the launch, build and cache flags belong in the [types] table, not at the top level",
    ),
    ("cpython.toml", "layer", '[types]\nlaunch = "true"\n', "types.launch: must be true or false"),
    (
        "cpython.toml",
        "layer",
        "[types]\nrun = true\n",
        "types.run: unknown key; check its spelling against the spec",
    ),
    (
        "builder.toml",
        None,
        '[[run.images]]\nimage = "r"\n',
        "build.image: required: the build image of the builder",
    ),
    (
        "builder.toml",
        None,
        '[build]\nimage = "b"\n',
        "run.images: required: add [[run.images]] with an image",
    ),
    (
        "builder.toml",
        None,
        BUILDER + '[[buidlpacks]]\nuri = "x"\n',
        "buidlpacks: unknown key; check its spelling against the spec",
    ),
    (
        "builder.toml",
        None,
        BUILDER + '[[build.env]]\nname = "PATH"\nvalue = "/x"\nsuffix = "append"\n',
        "build.env[0].delim: required with suffix 'append'; set e.g. delim = \":\"",
    ),
    (
        "builder.toml",
        None,
        BUILDER + '[[build.env]]\nname = "A"\nsuffix = "later"\n',
        "build.env[0].suffix: input should be 'default', 'override', 'append' or 'prepend'",
    ),
    (
        "builder.toml",
        None,
        BUILDER + '[[buildpacks]]\nid = "x"\n',
        "buildpacks[0]: set 'uri' (a directory, file or URL) or 'image' (an image reference)",
    ),
    (
        "builder.toml",
        None,
        '[build]\nimage = "b"\n[stack]\nbuild-image = "c"\nrun-image = "r"\nid = "s"\n',
        "build.image: does not match stack.build-image; keep one",
    ),
    (
        "builder.toml",
        None,
        BUILDER + '[lifecycle]\nversion = "0.20.0"\nuri = "x.tgz"\n',
        "lifecycle: set 'version' or 'uri', not both",
    ),
    (
        "package.toml",
        None,
        '[[dependencies]]\nuri = "x"\n',
        "buildpack.uri: required: the buildpack directory or file",
    ),
    (
        "package.toml",
        None,
        '[buildpack]\nuri = "."\n[[dependencies]]\nuri = "x"\nimage = "y"\n',
        "dependencies[0]: set exactly one of 'uri' or 'image'",
    ),
    (
        "package.toml",
        None,
        '[buildpack]\nuri = "."\n[platform]\nos = "plan9"\n',
        "platform.os: input should be 'linux' or 'windows'",
    ),
    (
        "project.toml",
        None,
        '[_]\nschema-version = "0.2"\n[io.buildpacks]\ninclude = ["a"]\nexclude = ["b"]\n',
        "io.buildpacks: cannot have both 'include' and 'exclude'; keep one",
    ),
    (
        "project.toml",
        None,
        '[_]\nschema-version = "0.9"\n',
        "_.schema-version: unsupported schema version '0.9'; use \"0.2\"",
    ),
    (
        "project.toml",
        None,
        '[_]\nname = "x"\n',
        '_.schema-version: required in the [_] table, e.g. "0.2"',
    ),
    (
        "project.toml",
        None,
        '[build]\ninclude = ["a"]\nexclude = ["b"]\n',
        "build: cannot have both 'include' and 'exclude'; keep one",
    ),
    (
        "project.toml",
        None,
        '[[build.buildpacks]]\nuri = "x"\nversion = "1"\n',
        "build.buildpacks[0]: a buildpack cannot have both 'uri' and 'version'",
    ),
    (
        "project.toml",
        None,
        '[[build.buildpacks]]\nversion = "1"\n',
        "build.buildpacks[0]: a buildpack needs an 'id' or a 'uri'",
    ),
    (
        "project.toml",
        None,
        '[_]\nschema-version = "0.2"\n[[io.buildpacks.group]]\nid = "me/x"\n'
        '[io.buildpacks.group.script]\ninline = "echo"\n',
        "io.buildpacks.group[0]: an inline buildpack needs 'script.api', e.g. \"0.10\"",
    ),
    ("lifecycle.toml", None, '[apis.buildpack]\nsupported = ["0.7"]\n', "lifecycle: required"),
    ("project-metadata.toml", None, 'source = "git"\n', "source: must be a table"),
    (
        "plan.toml",
        "detect-plan",
        '[[requires]]\nname = "node"\nversion = "20"\n',
        "requires[0]: a top-level 'version' is not allowed; put it in metadata.version",
    ),
    ("plan.toml", "buildpack-plan", "[[entries]]\nmetadata = {}\n", "entries[0].name: required"),
    ("buildpack.toml", None, b'api = "0.10"\n\xff\n'.decode("latin-1"), "invalid TOML: "),
]


def _run_validate(
    path: Path, kind: str | None, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    args = ["validate", str(path), *(["--kind", kind] if kind else [])]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code, capsys.readouterr().err


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
    assert len({(c[1], c[2]) for c in CASES}) == len(CASES), "a case is listed twice"


@pytest.mark.parametrize(("name", "kind", "content", "expected"), CASES)
def test_malformed_file_gives_one_line(
    name: str,
    kind: str | None,
    content: str,
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    code, err = _run_validate(path, kind, capsys)
    assert code == 1
    assert err.count("\n") == 1, f"not one line: {err!r}"
    assert err.endswith("\n")
    assert err.startswith(f"ERROR: {path}: {expected}")
    assert "Traceback" not in err
    assert "pydantic" not in err
    assert "errors.pydantic.dev" not in err
    assert path.read_text(encoding="utf-8") == content


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "buildpack.toml"
    path.write_text('[buildpack]\nid = "a"\n')
    result = subprocess.run(
        [sys.executable, "-m", "pypack", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == f"ERROR: {path}: api: required\n"
    assert result.stdout == ""


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    path = tmp_path / "buildpack.toml"
    path.write_text('[buildpack]\nid = "a"\n')
    result = subprocess.run(
        [sys.executable, "-m", "pypack", "--verbose", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().endswith(f"ERROR: {path}: api: required")


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "builder.toml"
    code, err = _run_validate(path, None, capsys)
    assert (code, err) == (1, f"ERROR: {path}: file not found\n")


def test_unknown_file_name_asks_for_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cpython.toml"
    path.write_text("[types]\nlaunch = true\n")
    code, err = _run_validate(path, None, capsys)
    assert code == 1
    assert err.startswith(f"ERROR: {path}: cannot tell which CNB file this is from its name; ")
    assert "--kind" in err
    assert err.count("\n") == 1


def test_unknown_keys_are_warnings_where_the_lifecycle_ignores_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "buildpack.toml"
    path.write_text(BP + 'api = "0.11"\n')  # lands in [buildpack]: a classic TOML slip
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(path)])
    assert exit_info.value.code == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: ok\n"
    assert err == f"warning: {path}: buildpack.api: unknown key; the lifecycle ignores it\n"
