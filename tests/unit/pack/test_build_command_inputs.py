"""What ``pypack build`` reads from its flags before a build: ``--env``, ``--env-file``,
``--creation-time``, and the one-line refusals of the command itself."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pypack.errors import UserError
from pypack.pack.build_command import parse_creation_time, parse_env, read_env_file
from pypack.pack.cli import main as cli_main

# --- --env ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NAME=value", ("NAME", "value")),
        ("NAME=", ("NAME", "")),
        ("NAME=a=b", ("NAME", "a=b")),
        ("_x1=  spaced  ", ("_x1", "  spaced  ")),
        ("lower=1", ("lower", "1")),
    ],
)
def test_name_value(text: str, expected: tuple[str, str]) -> None:
    assert parse_env(text, "--env") == expected


def test_a_bare_name_copies_this_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYPACK_UNIT_VALUE", "from here")
    assert parse_env("PYPACK_UNIT_VALUE", "--env") == ("PYPACK_UNIT_VALUE", "from here")
    monkeypatch.setenv("PYPACK_UNIT_VALUE", "")
    assert parse_env("PYPACK_UNIT_VALUE", "--env") == ("PYPACK_UNIT_VALUE", "")


def test_a_bare_name_that_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYPACK_UNIT_UNSET", raising=False)
    with pytest.raises(UserError) as raised:
        parse_env("PYPACK_UNIT_UNSET", "--env")
    assert str(raised.value) == (
        "--env: PYPACK_UNIT_UNSET is not set in this environment; give NAME=VALUE"
    )


@pytest.mark.parametrize("text", ["", "=value", "1ABC=x", "A-B=x", "A B=x", "Ä=x", " A=x"])
def test_an_invalid_name(text: str) -> None:
    with pytest.raises(UserError) as raised:
        parse_env(text, "--env")
    assert str(raised.value) == (
        f"--env: {text!r} is not NAME=VALUE or NAME with a valid variable name"
    )


# --- --env-file ----------------------------------------------------------------------------


def test_an_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYPACK_UNIT_VALUE", "copied")
    path = tmp_path / "build.env"
    path.write_text(
        "# settings\n"
        "\n"
        "GREETING=hello world\n"
        "   INDENTED=yes   \n"
        "  # indented comment\n"
        "PYPACK_UNIT_VALUE\n"
        "GREETING=again\n"
        "EMPTY=\n"
    )
    assert read_env_file(path) == {
        "GREETING": "again",
        "INDENTED": "yes",
        "PYPACK_UNIT_VALUE": "copied",
        "EMPTY": "",
    }


def test_an_empty_env_file(tmp_path: Path) -> None:
    (tmp_path / "empty.env").write_text("")
    assert read_env_file(tmp_path / "empty.env") == {}


def test_a_bad_line_is_named_by_number(tmp_path: Path) -> None:
    path = tmp_path / "build.env"
    path.write_text("A=1\n\n# c\nnot valid=2\n")
    with pytest.raises(UserError) as raised:
        read_env_file(path)
    assert str(raised.value) == (
        f"--env-file {path}: line 4: 'not valid=2' is not NAME=VALUE or NAME with a valid "
        "variable name"
    )


def test_an_unset_name_in_an_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYPACK_UNIT_UNSET", raising=False)
    path = tmp_path / "build.env"
    path.write_text("A=1\nPYPACK_UNIT_UNSET\n")
    with pytest.raises(UserError) as raised:
        read_env_file(path)
    assert str(raised.value) == (
        f"--env-file {path}: line 2: PYPACK_UNIT_UNSET is not set in this environment; "
        "give NAME=VALUE"
    )


def test_a_missing_env_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.env"
    with pytest.raises(UserError) as raised:
        read_env_file(path)
    assert str(raised.value) == f"--env-file {path}: cannot read: No such file or directory"


def test_an_env_file_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(UserError) as raised:
        read_env_file(tmp_path)
    assert str(raised.value) == f"--env-file {tmp_path}: cannot read: Is a directory"


def test_an_env_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.env"
    path.write_bytes("NAME=caf\u00e9\n".encode("latin-1"))
    with pytest.raises(UserError) as raised:
        read_env_file(path)
    assert str(raised.value).startswith(f"--env-file {path}: ")


# --- --creation-time -----------------------------------------------------------------------


def test_no_creation_time() -> None:
    assert parse_creation_time(None) is None


def test_creation_time_in_seconds() -> None:
    assert parse_creation_time("0") == 0
    assert parse_creation_time("1700000000") == 1700000000


def test_creation_time_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1234.9)
    assert parse_creation_time("now") == 1234


@pytest.mark.parametrize("text", ["", "-1", "1.5", "1e9", " 1", "Now", "yesterday"])
def test_a_creation_time_that_is_not_seconds(text: str) -> None:
    with pytest.raises(UserError) as raised:
        parse_creation_time(text)
    assert str(raised.value) == (f"--creation-time {text!r}: give seconds since the epoch or 'now'")


def test_a_superscript_digit_is_not_seconds() -> None:
    with pytest.raises(UserError):
        parse_creation_time("\u00b2")


# --- the command's own refusals ------------------------------------------------------------


def refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line ``pypack build`` prints when it refuses ``argv`` with exit code 1."""
    with pytest.raises(SystemExit) as done:
        cli_main(["build", *argv])
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("ERROR: ")
    return err.removeprefix("ERROR: ").rstrip("\n")


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYPACK_HOME", str(tmp_path / "home"))
    (tmp_path / "app").mkdir()
    return tmp_path / "app"


def test_a_path_that_is_not_a_directory(
    app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    argv = ["my/app", "--builder", "b", "--path", str(tmp_path / "file")]
    assert refusal(argv, capsys) == (
        f"--path {tmp_path / 'file'}: not a directory or a zip/jar archive of the app"
    )


def test_cache_image_without_publish(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["my/app", "--builder", "b", "--path", str(app), "--cache-image", "r.io/c"]
    assert refusal(argv, capsys) == (
        "--cache-image needs --publish: the cache image lives in a registry"
    )


def test_a_bad_env_flag_is_refused_before_any_build(
    app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["my/app", "--builder", "b", "--path", str(app), "--env", "A B=1"]
    assert refusal(argv, capsys) == (
        "--env: 'A B=1' is not NAME=VALUE or NAME with a valid variable name"
    )
    assert not (app.parent / "home" / "builds").exists()


def test_a_bad_image_name(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["My App", "--builder", "b", "--path", str(app)]
    assert refusal(argv, capsys) == "invalid image reference 'My App': must be lowercase"


def test_a_bad_creation_time_flag(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["my/app", "--builder", "b", "--path", str(app), "--creation-time", "soon"]
    assert refusal(argv, capsys) == "--creation-time 'soon': give seconds since the epoch or 'now'"


def test_a_bad_volume_flag(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["my/app", "--builder", "b", "--path", str(app), "--volume", "/x:/cnb/y"]
    assert refusal(argv, capsys) == (
        "--volume '/x:/cnb/y': /cnb is reserved for the build; mount elsewhere"
    )
