"""Malformed CNB files give one line naming the file, the key and the problem — never a traceback.

Each case goes through ``pypack validate``, the way a person meets it, and checks the exact
message, the exit code, and that the file was left as it was. Every refusal names the reference
behaviour it mirrors ("lc": buildpacks/lifecycle, "pack": buildpacks/pack): the files other
tools write are read as the reference's Go TOML decoder reads them (unknown keys ignored, missing
keys empty), so what it accepts is in ``ACCEPTED`` below, with the warnings a person gets.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pypack.pack.cli import main
from pypack.spec import Document
from pypack.spec.analyzed_toml import AnalyzedFile
from pypack.spec.group_toml import GroupFile
from pypack.spec.layer_toml import LayerFile
from pypack.spec.plan_toml import PlanFile
from pypack.spec.report_toml import ReportFile

BP = 'api = "0.10"\n[buildpack]\nid = "a/b"\nversion = "1.0.0"\n'
BUILDER = '[build]\nimage = "b"\n[[run.images]]\nimage = "r"\n'
GO_TYPE = "lc/pack: Go's TOML decoder refuses a value of the wrong type"
GO_TOML = "lc/pack: Go's TOML decoder refuses invalid TOML"
NOT_FOUND = "lc: no buildpack has this ID/version, so the phase cannot find its directory"
PACK_UNKNOWN = "pack: 'unknown configuration element' (pack refuses unknown keys here)"

# (file name, --kind or None, content, expected "<key>: <problem>" after "<path>: ", mirrors)
CASES: list[tuple[str, str | None, str, str, str]] = [
    (
        "buildpack.toml",
        None,
        '[buildpack]\nid = "a"\n',
        "api: required",
        "lc: exit 12 for an unsupported (empty) Buildpack API; pack assumes 0.1, also unsupported",
    ),
    (
        "buildpack.toml",
        None,
        'api = "0.10"\n[buildpack]\nname = "x"\n',
        "buildpack.id: required",
        "pack: \"'buildpack.id' is required\"",
    ),
    (
        "buildpack.toml",
        None,
        'api = "0.10"\n[buildpack]\nid = ""\n',
        "buildpack.id: must not be empty",
        "pack: \"'buildpack.id' is required\"",
    ),
    (
        "buildpack.toml",
        None,
        'api = "0.10"\n[buildpack]\nid = ".."\n',
        "buildpack.id: '..' is not a directory name of its own; choose another ID",
        NOT_FOUND + " (/cnb/buildpacks/../<version> is outside /cnb/buildpacks)",
    ),
    (
        "buildpack.toml",
        None,
        'api = 0.10\n[buildpack]\nid = "a"\n',
        'api: must be a quoted version string like "0.12"',
        GO_TYPE,
    ),
    (
        "buildpack.toml",
        None,
        'api = "zero.ten"\n[buildpack]\nid = "a"\n',
        "api: 'zero.ten' is not an API version like \"0.12\"",
        "lc/pack: api.NewVersion refuses it",
    ),
    (
        "buildpack.toml",
        None,
        'api = "0.10"\n[buildpack]\nid = "a"\nclear-env = "yes"\n',
        "buildpack.clear-env: must be true or false",
        GO_TYPE,
    ),
    (
        "buildpack.toml",
        None,
        BP + '[[order]]\n[[order.group]]\nversion = "1"\n',
        "order[0].group[0].id: required",
        NOT_FOUND,
    ),
    (
        "buildpack.toml",
        None,
        BP + '[[order]]\n[[order.group]]\nid = "x"\n[[stacks]]\nid = "s"\n',
        "a composite buildpack ([[order]]) must not declare [[targets]] or [[stacks]]",
        "pack: \"cannot have both 'targets'/'stacks' and an 'order' defined\"",
    ),
    (
        "buildpack.toml",
        None,
        BP + '[[order]]\n[[order.group]]\nid = "x"\n[[targets]]\nos = "linux"\n',
        "a composite buildpack ([[order]]) must not declare [[targets]] or [[stacks]]",
        "pack: \"cannot have both 'targets'/'stacks' and an 'order' defined\"",
    ),
    (
        "buildpack.toml",
        None,
        BP + '[[targets]]\nos = ["linux"]\n',
        "targets[0].os: must be a string",
        GO_TYPE,
    ),
    (
        "buildpack.toml",
        None,
        'api = "0.10"\n[buildpack\nid = "a"\n',
        "invalid TOML: Expected ']' at the end of a table declaration (at line 2, column 11)",
        GO_TOML,
    ),
    (
        "extension.toml",
        None,
        'api = "0.10"\n[extension]\nversion = "1"\n',
        "extension.id: required",
        "pack: \"'extension.id' is required\"",
    ),
    (
        "order.toml",
        None,
        '[[order]]\n[[order.group]]\nid = "a"\n',
        "order[0].group[0].version: required",
        NOT_FOUND + " (lc looks in /cnb/buildpacks/a/<version>)",
    ),
    (
        "order.toml",
        None,
        '[[order]]\n[[order.group]]\nid = "a"\nversion = "1"\noptional = "no"\n',
        "order[0].group[0].optional: must be true or false",
        GO_TYPE,
    ),
    (
        "group.toml",
        None,
        '[[group]]\nid = "a"\napi = "0.10"\n',
        "group[0].version: required",
        NOT_FOUND + " (the builder reads /cnb/buildpacks/a/<version>/buildpack.toml)",
    ),
    (
        "analyzed.toml",
        None,
        "[run-image]\nreference = 5\n",
        "run-image.reference: must be a string",
        GO_TYPE,
    ),
    (
        "metadata.toml",
        None,
        '[[processes]]\ntype = "web"\n',
        "processes[0].command: required",
        "lc: the launcher refuses it: 'no command provided for process type'",
    ),
    (
        "report.toml",
        None,
        '[image]\ntags = ["a"]\nmanifest-size = "1487"\n',
        "image.manifest-size: must be an integer",
        GO_TYPE + " (manifest-size is an int64)",
    ),
    (
        "run.toml",
        None,
        '[[images]]\nmirrors = ["m"]\n',
        "images[0].image: required",
        "lc: the analyzer has no run image reference to read (an empty one fails to parse)",
    ),
    (
        "system.toml",
        None,
        '[[system.pre.buildpacks]]\nversion = "1"\n',
        "system.pre.buildpacks[0].id: required",
        NOT_FOUND,
    ),
    (
        "launch.toml",
        None,
        '[[processes]]\ntype = "web"\ncommand = ["a"]\ndefault = true\n'
        '[[processes]]\ntype = "w"\ncommand = ["b"]\ndefault = true\n',
        "multiple default process types are not allowed: web, w",
        'lc: validateNoMultipleDefaults, "multiple default process types aren\'t allowed"',
    ),
    (
        "launch.toml",
        None,
        '[[slices]]\npaths = "static/*"\n',
        "slices[0].paths: must be an array",
        GO_TYPE,
    ),
    (
        "build.toml",
        None,
        '[[unmet]]\nversion = "1"\n',
        "unmet[0].name: required",
        "lc: validateUnmet, 'unmet.name is required'",
    ),
    ("store.toml", None, 'metadata = "x"\n', "metadata: must be a table", GO_TYPE),
    (
        "cpython.toml",
        "layer",
        "launch = true\n[metadata]\n",
        "the launch, build and cache flags belong in the [types] table, not at the top level",
        "lc: 'the launch, cache and build flags should be in the types table'",
    ),
    (
        "cpython.toml",
        "layer",
        '[types]\nlaunch = "true"\n',
        "types.launch: must be true or false",
        GO_TYPE,
    ),
    (
        "builder.toml",
        None,
        '[[run.images]]\nimage = "r"\n',
        "build.image: required: the build image of the builder",
        "pack: 'build.image is required'",
    ),
    (
        "builder.toml",
        None,
        '[build]\nimage = "b"\n',
        "run.images: required: add [[run.images]] with an image",
        "pack: 'run.images are required'",
    ),
    (
        "builder.toml",
        None,
        BUILDER + '[[buidlpacks]]\nuri = "x"\n',
        "buidlpacks: unknown key; check its spelling against the spec",
        PACK_UNKNOWN,
    ),
    (
        "builder.toml",
        None,
        BUILDER + '[[buildpacks]]\nuri = "x"\nsha = "1"\n',
        "buildpacks[0].sha: unknown key; check its spelling against the spec",
        PACK_UNKNOWN,
    ),
    (
        "builder.toml",
        None,
        BUILDER + '[[build.env]]\nname = "PATH"\nvalue = "/x"\nsuffix = "append"\n',
        "build.env[0].delim: required with suffix 'append'; set e.g. delim = \":\"",
        "pack: ParseBuildConfigEnv refuses append/prepend without delim",
    ),
    (
        "builder.toml",
        None,
        BUILDER + '[[build.env]]\nname = "A"\nsuffix = "later"\n',
        "build.env[0].suffix: input should be 'default', 'override', 'append' or 'prepend'",
        "pack: getBuildConfigEnvFileName refuses an unknown suffix",
    ),
    (
        "builder.toml",
        None,
        BUILDER + '[[buildpacks]]\nid = "x"\n',
        "buildpacks[0]: set 'uri' (a directory, file or URL) or 'image' (an image reference)",
        "pack: a builder buildpack without uri or image cannot be fetched",
    ),
    (
        "builder.toml",
        None,
        '[build]\nimage = "b"\n[stack]\nbuild-image = "c"\nrun-image = "r"\nid = "s"\n',
        "build.image: does not match stack.build-image; keep one",
        "pack: 'build.image and stack.build-image do not match'",
    ),
    (
        "builder.toml",
        None,
        BUILDER + '[lifecycle]\nversion = "0.20.0"\nuri = "x.tgz"\n',
        "lifecycle: set 'version' or 'uri', not both",
        "pack: builder create refuses a lifecycle with both 'version' and 'uri'",
    ),
    (
        "package.toml",
        None,
        '[[dependencies]]\nuri = "x"\n',
        "buildpack.uri: required: the buildpack directory or file",
        "pack: \"missing 'buildpack.uri' configuration\"",
    ),
    (
        "package.toml",
        None,
        '[buildpack]\nuri = "."\n[[dependencies]]\nuri = "x"\nimage = "y"\n',
        "dependencies[0]: set exactly one of 'uri' or 'image'",
        "pack: \"dependency configured with both 'uri' and 'image'\"",
    ),
    (
        "package.toml",
        None,
        '[buildpack]\nuri = "."\n[platform]\nos = "plan9"\n',
        "platform.os: input should be 'linux' or 'windows'",
        "pack: \"invalid 'platform.os' configuration\"",
    ),
    (
        "package.toml",
        None,
        '[buildpack]\nuri = "."\nurl = "x"\n',
        "buildpack.url: unknown key; check its spelling against the spec",
        PACK_UNKNOWN,
    ),
    (
        "project.toml",
        None,
        '[_]\nschema-version = "0.2"\n[io.buildpacks]\ninclude = ["a"]\nexclude = ["b"]\n',
        "io.buildpacks: cannot have both 'include' and 'exclude'; keep one",
        "pack: 'project.toml: cannot have both include and exclude defined'",
    ),
    (
        "project.toml",
        None,
        '[_]\nschema-version = "0.9"\n',
        "_.schema-version: unsupported schema version '0.9'; use \"0.2\"",
        "pack: 'unknown project descriptor schema version'",
    ),
    (
        "project.toml",
        None,
        '[_]\nname = "x"\n',
        '_.schema-version: required in the [_] table, e.g. "0.2"',
        "pack: 'unknown project descriptor schema version' (an empty one)",
    ),
    (
        "project.toml",
        None,
        '[build]\ninclude = ["a"]\nexclude = ["b"]\n',
        "build: cannot have both 'include' and 'exclude'; keep one",
        "pack: 'project.toml: cannot have both include and exclude defined'",
    ),
    (
        "project.toml",
        None,
        '[[build.buildpacks]]\nuri = "x"\nversion = "1"\n',
        "build.buildpacks[0]: a buildpack cannot have both 'uri' and 'version'",
        "pack: 'buildpacks cannot have both uri and version defined'",
    ),
    (
        "project.toml",
        None,
        '[[build.buildpacks]]\nversion = "1"\n',
        "build.buildpacks[0]: a buildpack needs an 'id' or a 'uri'",
        "pack: 'buildpacks must have an id or url defined'",
    ),
    (
        "project.toml",
        None,
        "[project]\n[[project.licenses]]\n",
        "project.licenses[0]: a license needs a 'type' or a 'uri'",
        "pack: 'must have a type or uri defined for each license'",
    ),
    (
        "project.toml",
        None,
        '[_]\nschema-version = "0.2"\n[[io.buildpacks.group]]\nid = "me/x"\n'
        '[io.buildpacks.group.script]\ninline = "echo"\n',
        "io.buildpacks.group[0]: an inline buildpack needs 'script.api', e.g. \"0.10\"",
        "pack: 'Missing API version for inline buildpack'",
    ),
    (
        "lifecycle.toml",
        None,
        '[apis.buildpack]\nsupported = ["0.7"]\n',
        "lifecycle: required",
        "pack: a lifecycle descriptor without a lifecycle version cannot be parsed",
    ),
    ("project-metadata.toml", None, 'source = "git"\n', "source: must be a table", GO_TYPE),
    (
        "plan.toml",
        "detect-plan",
        '[[requires]]\nname = "node"\nversion = "20"\n',
        "requires[0]: a top-level 'version' is not allowed; put it in metadata.version",
        "lc: a top-level version in requires is a detect error",
    ),
    (
        "launch.toml",
        None,
        '[[bom]]\nname = "node"\nversion = "20"\n',
        "bom[0]: a top-level 'version' is not allowed; put it in metadata.version",
        "lc: ValidateBOM, 'bom entry has a top level version which is not allowed'",
    ),
    (
        "buildpack.toml",
        None,
        b'api = "0.10"\n\xff\n'.decode("latin-1"),
        "invalid TOML: ",
        GO_TOML,
    ),
]

# Files that were refused before and are read now as the reference reads them:
# (file name, --kind or None, content, the warnings `pypack validate` prints after "<path>: ").
ACCEPTED: list[tuple[str, str | None, str, list[str]]] = [
    # IDs: neither lc nor pack checks the spec's character rule or its reserved IDs.
    ("buildpack.toml", None, 'api = "0.10"\n[buildpack]\nid = "simple_buildpack"\n', []),
    ("buildpack.toml", None, 'api = "0.10"\n[buildpack]\nid = "my buildpack"\n', []),
    (
        "buildpack.toml",
        None,
        'api = "0.10"\n[buildpack]\nid = "config"\n',
        [
            "buildpack.id: 'config' is reserved by the spec; its layers would share "
            "<layers>/config with the lifecycle's own files"
        ],
    ),
    # buildpack.toml: pack checks no license table; it warns on (and ignores) unknown keys.
    ("buildpack.toml", None, 'api = "0.10"\n[buildpack]\nid = "a"\n[[buildpack.licenses]]\n', []),
    (
        "buildpack.toml",
        None,
        BP + '[[targets]]\nvariant = "v8"\narch-variant = "v7"\n',
        ["targets[0].arch-variant: unknown key; it is ignored (check its spelling)"],
    ),
    (
        "buildpack.toml",
        None,
        BP + "sbom-formats = []\n[metadata]\nanything = 1\n",
        [],
    ),
    # Files other tools write: unknown keys ignored (and kept), missing keys empty.
    (
        "order.toml",
        None,
        "[[order]]\ngroups = []\n",
        ["order[0].groups: unknown key; it is ignored (check its spelling)"],
    ),
    (
        "group.toml",
        None,
        '[[group]]\nid = "simple_buildpack"\nversion = "1"\napi = "0.10"\nnew-key = 1\n',
        ["group[0].new-key: unknown key; it is ignored (check its spelling)"],
    ),
    ("plan.toml", None, '[[entries]]\n[[entries.requires]]\nname = "x"\n', []),
    ("plan.toml", None, '[[entries]]\n[[entries.providers]]\nid = "a"\nversion = "1"\n', []),
    (
        "plan.toml",
        None,
        '[[entries]]\n[[entries.requires]]\nname = "x"\nversion = "1"\n',
        ["entries[0].requires[0].version: unknown key; it is ignored (check its spelling)"],
    ),
    ("analyzed.toml", None, '[image]\nref = "x"\n', []),
    (
        "analyzed.toml",
        None,
        '[run-image]\nreference = "r"\n[run-image.target]\nos = "linux"\nnew = "x"\n',
        ["run-image.target.new: unknown key; it is ignored (check its spelling)"],
    ),
    (
        "analyzed.toml",
        None,
        '[metadata.run-image]\ntop-layer = "a"\ntopLayer = "b"\n',
        ["metadata.run-image.topLayer: unknown key; it is ignored (check its spelling)"],
    ),
    (
        "metadata.toml",
        None,
        '[[processes]]\ntype = "web"\ncommand = ["x"]\nnew = true\n',
        ["processes[0].new: unknown key; it is ignored (check its spelling)"],
    ),
    (
        "report.toml",
        None,
        '[image]\ntags = ["a"]\n[extra]\nx = 1\n',
        ["extra: unknown key; it is ignored (check its spelling)"],
    ),
    (
        "stack.toml",
        None,
        '[run-image]\nimage = "x"\nmirror = ["y"]\n',
        ["run-image.mirror: unknown key; it is ignored (check its spelling)"],
    ),
    ("launch.toml", None, '[[labels]]\nkey = "k"\n', []),
    ("launch.toml", None, '[[processes]]\ntype = "web app"\ncommand = ["x"]\n', []),
    # lc's builder takes an empty command; its launcher refuses to start it (exit 82).
    ("launch.toml", None, '[[processes]]\ntype = "web"\ncommand = []\n', []),
    # lc's builder takes any process type; its exporter refuses /><:|&\ (exit 62), as ours does.
    ("launch.toml", None, '[[processes]]\ntype = "web/app"\ncommand = ["x"]\n', []),
    (
        "cpython.toml",
        "layer",
        "[types]\nrun = true\n",
        ["types.run: unknown key; it is ignored (check its spelling)"],
    ),
    ("plan.toml", "buildpack-plan", "[[entries]]\nmetadata = {}\n", []),
    # project.toml: pack warns on unknown keys of its own tables, not on the user's tables.
    (
        "project.toml",
        None,
        '[tool.custom]\nx = 1\n[build]\nbuilder = "b"\nbiulder = "c"\n',
        ["build.biulder: unknown key; it is ignored (check its spelling)"],
    ),
    (
        "project.toml",
        None,
        '[_]\nschema-version = "0.2"\nnam = "x"\n[com.example]\nx = 1\n'
        '[io.buildpacks]\nbuilder = "b"\n[io.other]\ny = 2\n',
        ["_.nam: unknown key; it is ignored (check its spelling)"],
    ),
    ("plan.toml", "detect-plan", "[[provides]]\n[[requires]]\n", []),
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
    assert all(case[4] for case in CASES), "every refusal names the reference behaviour"
    both = {(c[0], c[2]) for c in CASES} & {(a[0], a[2]) for a in ACCEPTED}
    assert not both, "a file is both refused and accepted"


@pytest.mark.parametrize(("name", "kind", "content", "expected", "mirrors"), CASES)
def test_malformed_file_gives_one_line(
    name: str,
    kind: str | None,
    content: str,
    expected: str,
    mirrors: str,
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
    assert err == (
        f"warning: {path}: buildpack.api: unknown key; it is ignored (check its spelling)\n"
    )


@pytest.mark.parametrize(("name", "kind", "content", "warnings"), ACCEPTED)
def test_what_the_reference_reads_is_accepted(
    name: str,
    kind: str | None,
    content: str,
    warnings: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(path), *(["--kind", kind] if kind else [])])
    out, err = capsys.readouterr()
    assert (exit_info.value.code, out) == (0, f"{path}: ok\n"), err
    assert err.splitlines() == [f"warning: {path}: {line}" for line in warnings]


def test_unknown_keys_of_other_tools_survive_a_rewrite(tmp_path: Path) -> None:
    """A phase that rewrites a file another tool (or a newer lifecycle) wrote keeps its keys."""
    files: dict[type[Document], str] = {
        AnalyzedFile: '[run-image]\nreference = "r"\nnew = 1\n[run-image.target]\nos = "linux"\n'
        'arch-variant = "v8"\nlater = "x"\n[future]\nkey = true\n',
        GroupFile: '[[group]]\nid = "simple_buildpack"\nversion = "1"\napi = "0.10"\nx = 1\n',
        PlanFile: '[[entries]]\nx = 1\n[[entries.requires]]\nname = "n"\nversion = "2"\n',
        ReportFile: '[image]\ntags = ["a"]\nfuture = "x"\n',
        LayerFile: '[types]\nlaunch = true\nfuture = true\n[metadata]\nk = "v"\n',
    }
    for model, text in files.items():
        path = tmp_path / model.file_name.strip("<>")
        model.loads(text).dump(path)
        assert _holds(tomllib.loads(path.read_text()), tomllib.loads(text)), model.file_name


def _holds(written: object, read: object) -> bool:
    """Every key and value of ``read`` is in ``written`` (which may add defaults)."""
    if isinstance(read, dict):
        return isinstance(written, dict) and all(
            key in written and _holds(written[key], value) for key, value in read.items()
        )
    if isinstance(read, list):
        return (
            isinstance(written, list)
            and len(written) == len(read)
            and all(_holds(w, r) for w, r in zip(written, read, strict=True))
        )
    return written == read


def test_missing_optional_tables_are_empty() -> None:
    assert AnalyzedFile.loads("").run_image is None
    assert AnalyzedFile.loads('[image]\nreference = ""\n').image is None
    assert GroupFile.loads("").group == []
    assert PlanFile.loads("").entries == []
    entry = PlanFile.loads("[[entries]]\n").entries[0]
    assert (entry.providers, entry.requires) == ([], [])
    assert ReportFile.loads("").image.tags == []
    assert LayerFile.loads("").ignored


def test_packaging_a_buildpack_warns_on_its_unknown_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pack: 'Ignoring unexpected key(s) in descriptor for buildpack' — a warning, not a stop."""
    from pypack.pack.buildpackage import buildpack_layer

    directory = tmp_path / "bp"
    (directory / "bin").mkdir(parents=True)
    (directory / "buildpack.toml").write_text(BP + "future = 1\n[metadata]\nfree = 2\n")
    descriptor, _, _ = buildpack_layer(directory, tmp_path)
    assert descriptor.buildpack.id == "a/b"
    assert capsys.readouterr().err == (
        f"warning: {directory / 'buildpack.toml'}: buildpack.future: unknown key; "
        "it is ignored (check its spelling)\n"
    )
