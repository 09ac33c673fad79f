"""``config.toml`` in the pypack home and ``pypack config``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pypack.errors import UserError
from pypack.pack.cli import main as cli_main
from pypack.pack.config import SETTINGS, read_config, run_image_mirrors
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
    assert err.splitlines()[-1] == "Error: No such command 'colour'."
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


# --- run image mirrors (pack: internal/commands/config_run_image_mirrors.go) -----------------


def test_mirrors_are_added_sorted_without_duplicates_and_listed(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    home.root.mkdir()
    home.config.write_text('pull-policy = "never"\nexperimental = true\n')
    code, out, _ = pypack_config(
        "run-image-mirrors", "add", "org/run:1", "-m", "z.io/run:1", "-m", "a.io/run:1",
        capsys=capsys,
    )  # fmt: skip
    assert (code, out.splitlines()) == (
        0,
        [
            "Run Image org/run:1 configured with mirror z.io/run:1",
            "Run Image org/run:1 configured with mirror a.io/run:1",
        ],
    )
    pypack_config("run-image-mirrors", "add", "org/run:1", "--mirror", "a.io/run:1", capsys=capsys)
    pypack_config("run-image-mirrors", "add", "other/run", "-m", "m.io/other", capsys=capsys)
    assert run_image_mirrors(home) == {
        "org/run:1": ["a.io/run:1", "z.io/run:1"],
        "other/run": ["m.io/other"],
    }
    document = tomllib.loads(home.config.read_text())
    assert document["pull-policy"] == "never"
    assert document["experimental"] is True, "keys pypack does not know are kept"
    assert document["run-images"][0] == {
        "image": "org/run:1",
        "mirrors": ["a.io/run:1", "z.io/run:1"],
    }
    assert pypack_config("run-image-mirrors", "list", capsys=capsys)[1].splitlines() == [
        "Run Image Mirrors:",
        "  org/run:1:",
        "    a.io/run:1",
        "    z.io/run:1",
        "  other/run:",
        "    m.io/other",
    ]
    assert pypack_config("run-image-mirrors", "list", "other/run", capsys=capsys)[1] == (
        "Run Image Mirrors:\n  other/run:\n    m.io/other\n"
    )


def test_removing_some_or_all_mirrors(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    pypack_config(
        "run-image-mirrors", "add", "org/run", "-m", "a.io/r", "-m", "b.io/r", capsys=capsys
    )
    out = pypack_config("run-image-mirrors", "remove", "org/run", "-m", "a.io/r", capsys=capsys)[1]
    assert out == "Removed mirrors a.io/r for org/run\n"
    assert run_image_mirrors(home) == {"org/run": ["b.io/r"]}
    # removing the last mirror removes the image's entry, as pack does
    pypack_config("run-image-mirrors", "remove", "org/run", "-m", "b.io/r", capsys=capsys)
    assert run_image_mirrors(home) == {}
    pypack_config("run-image-mirrors", "add", "org/run", "-m", "a.io/r", capsys=capsys)
    out = pypack_config("run-image-mirrors", "remove", "org/run", capsys=capsys)[1]
    assert out == "Removed all run image mirrors for org/run\n"
    assert "run-images" not in tomllib.loads(home.config.read_text())


def test_nothing_to_add_remove_or_list_is_said_and_writes_nothing(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pypack_config("run-image-mirrors", "add", "org/run", capsys=capsys)[:2] == (
        0,
        "No run image mirrors were provided.\n",
    )
    assert pypack_config("run-image-mirrors", "remove", "org/run", capsys=capsys)[:2] == (
        0,
        "No run image mirrors have been set for org/run\n",
    )
    assert pypack_config("run-image-mirrors", "list", capsys=capsys)[1] == (
        "No run image mirrors have been set\n"
    )
    assert pypack_config("run-image-mirrors", "list", "org/run", capsys=capsys)[1] == (
        "No run image mirrors have been set for org/run\n"
    )
    assert not home.config.exists()
