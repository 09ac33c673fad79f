"""Go-style flag parsing as the reference lifecycle does it."""

from __future__ import annotations

import pytest

from pypack.errors import ExitCode
from pypack.lifecycle.flags import Flag, FlagError, HelpRequested, parse
from pypack.spec.api import ApiVersion

FLAGS = (
    Flag("layers", "CNB_LAYERS_DIR", "/layers"),
    Flag("cache-image", "CNB_CACHE_IMAGE"),
    Flag("daemon", "CNB_USE_DAEMON", boolean=True),
    Flag("tag", repeated=True),
    Flag("system", "CNB_SYSTEM_PATH", "/cnb/system.toml", since="0.15"),
)
API = ApiVersion(0, 15)


def test_forms_and_precedence() -> None:
    parsed = parse(
        "x", FLAGS, ["-layers=/a", "--daemon", "-tag", "r/a:1", "-tag=r/a:2,r/a:3", "img"], {}, API
    )
    assert parsed.text("layers") == "/a"
    assert parsed.flag("daemon") is True
    assert parsed.many("tag") == ["r/a:1", "r/a:2", "r/a:3"]
    assert parsed.args == ["img"]
    from_env = parse("x", FLAGS, [], {"CNB_LAYERS_DIR": "/env", "CNB_USE_DAEMON": "true"}, API)
    assert (from_env.text("layers"), from_env.flag("daemon")) == ("/env", True)
    flag_wins = parse("x", FLAGS, ["-layers", "/flag"], {"CNB_LAYERS_DIR": "/env"}, API)
    assert flag_wins.text("layers") == "/flag"
    assert parse("x", FLAGS, [], {}, API).text("layers") == "/layers"


def test_empty_values_mean_unset() -> None:
    parsed = parse(
        "x", FLAGS, ["-cache-image=", "-tag=", "-layers="], {"CNB_CACHE_IMAGE": "from-env"}, API
    )
    assert parsed.text("cache-image") is None  # explicit empty beats the env var, and means unset
    assert parsed.many("tag") == []
    assert parsed.text("layers") is None


def test_booleans() -> None:
    assert parse("x", FLAGS, ["-daemon=false"], {}, API).flag("daemon") is False
    assert parse("x", FLAGS, ["-daemon=1"], {}, API).flag("daemon") is True
    with pytest.raises(FlagError, match='invalid boolean value "maybe" for -daemon'):
        parse("x", FLAGS, ["-daemon=maybe"], {}, API)


def test_parsing_stops_at_the_first_argument_or_double_dash() -> None:
    assert parse("x", FLAGS, ["img", "-daemon"], {}, API).args == ["img", "-daemon"]
    assert parse("x", FLAGS, ["--", "-daemon"], {}, API).args == ["-daemon"]


def test_errors_and_help() -> None:
    with pytest.raises(FlagError) as info:
        parse("x", FLAGS, ["-nope"], {}, API)
    assert (str(info.value), info.value.exit_code) == (
        "flag provided but not defined: -nope",
        ExitCode.UNDEFINED_FLAG,
    )
    with pytest.raises(FlagError, match="flag needs an argument: -layers"):
        parse("x", FLAGS, ["-layers"], {}, API)
    with pytest.raises(FlagError, match="not defined: -system"):
        parse("x", FLAGS, ["-system=/s"], {}, ApiVersion(0, 14))
    with pytest.raises(HelpRequested) as help_info:
        parse("detector", FLAGS, ["-h"], {}, API)
    assert str(help_info.value).startswith("Usage of detector:\n  -cache-image string")
