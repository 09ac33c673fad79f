"""``config.toml`` in the pypack home and ``pypack config``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pypack.errors import UserError
from pypack.pack.cli import main as cli_main
from pypack.pack.config import SETTINGS, read_config
from pypack.pack.home import Home


def pypack_config(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        cli_main(["config", *args])
    out, err = capsys.readouterr()
    assert isinstance(done.value.code, int)
    return done.value.code, out, err


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """The home ``pypack config`` uses (``$PYPACK_HOME``)."""
    monkeypatch.setenv("PYPACK_HOME", str(tmp_path / "home"))
    return Home(tmp_path / "home")


def test_no_config_file_is_no_settings(home: Home) -> None:
    assert read_config(home) == {}


def test_known_settings_are_read_as_text_and_others_dropped(home: Home) -> None:
    home.root.mkdir()
    home.config.write_text(
        'default-builder = "my/builder"\npull-policy = "never"\nunknown = "x"\n[table]\na = 1\n'
    )
    assert read_config(home) == {"default-builder": "my/builder", "pull-policy": "never"}
    home.config.write_text("default-builder = 7\n")
    assert read_config(home) == {"default-builder": "7"}


def test_invalid_toml_is_one_line(home: Home) -> None:
    home.root.mkdir()
    home.config.write_text("default-builder my/builder\n")
    with pytest.raises(UserError) as raised:
        read_config(home)
    assert str(raised.value) == (
        f"{home.config}: invalid TOML: Expected '=' after a key in a key/value pair "
        "(at line 1, column 17)"
    )


def test_listing_shows_every_setting_and_its_meaning(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = pypack_config(capsys=capsys)
    assert code == 0
    assert out.splitlines() == [
        "default-builder = (unset)    # the builder of pypack build when no --builder or "
        "project.toml names one",
        "pull-policy = (unset)    # how builds get images: one of always, if-not-present, never",
    ]
    assert not home.config.exists(), "listing writes nothing"
    assert set(SETTINGS) == {"default-builder", "pull-policy"}


def test_set_get_and_unset(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    assert pypack_config("default-builder", "my/builder", capsys=capsys)[:2] == (
        0,
        "default-builder = my/builder\n",
    )
    assert tomllib.loads(home.config.read_text()) == {"default-builder": "my/builder"}
    assert pypack_config("pull-policy", "always", capsys=capsys)[1] == "pull-policy = always\n"
    assert pypack_config("default-builder", capsys=capsys)[1] == "my/builder\n"
    out = pypack_config(capsys=capsys)[1]
    assert "default-builder = my/builder    #" in out
    assert "pull-policy = always    #" in out
    assert pypack_config("default-builder", "--unset", capsys=capsys)[1] == (
        "default-builder = (unset)\n"
    )
    assert tomllib.loads(home.config.read_text()) == {"pull-policy": "always"}
    assert pypack_config("default-builder", capsys=capsys)[1] == "(unset)\n"


def test_unsetting_what_is_not_set_is_fine(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = pypack_config("pull-policy", "-u", capsys=capsys)
    assert (code, out) == (0, "pull-policy = (unset)\n")
    assert tomllib.loads(home.config.read_text()) == {}


def test_an_unknown_pull_policy_is_refused(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = pypack_config("pull-policy", "sometimes", capsys=capsys)
    assert code == 1
    assert err == "ERROR: pull-policy 'sometimes': use one of always, if-not-present, never\n"
    assert not home.config.exists()


def test_an_unknown_key_is_a_usage_error(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = pypack_config("colour", "blue", capsys=capsys)
    assert code == 2
    assert err.splitlines()[-1] == (
        "Error: Invalid value for '[default-builder|pull-policy]': 'colour' is not one of "
        "'default-builder', 'pull-policy'."
    )
    assert not home.config.exists()


def test_a_broken_config_file_stops_the_command_in_one_line(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    home.root.mkdir()
    home.config.write_text("[[[\n")
    code, _, err = pypack_config("pull-policy", "never", capsys=capsys)
    assert code == 1
    assert err.startswith(f"ERROR: {home.config}: invalid TOML: ")
    assert err.count("\n") == 1
    assert home.config.read_text() == "[[[\n", "a broken file is not overwritten"
