"""Which flags each phase binary defines at each Platform API, 0.7 to 0.15, as the reference
lifecycle's ``DefineFlags`` (``cmd/lifecycle/<phase>.go``) defines them; an undefined flag is
exit code 2 and names the flag."""

from __future__ import annotations

import pytest

from pypack.errors import ExitCode
from pypack.lifecycle.cmd import COMMANDS
from pypack.lifecycle.flags import FlagError, parse
from pypack.spec.api import SUPPORTED_PLATFORM_APIS, ApiVersion

# (phase, flag, first version defining it or None, first version no longer defining it or None)
RANGES = [
    ("analyzer", "launch-cache", "0.9", None),
    ("analyzer", "skip-layers", "0.9", None),
    ("analyzer", "layout", "0.12", None),
    ("analyzer", "layout-dir", "0.12", None),
    ("analyzer", "run", "0.12", None),
    ("analyzer", "insecure-registry", "0.13", None),
    ("analyzer", "stack", None, "0.12"),
    ("analyzer", "run-image", None, None),
    ("analyzer", "cache-image", None, None),
    ("analyzer", "daemon", None, None),
    ("detector", "analyzed", "0.10", None),
    ("detector", "extensions", "0.10", None),
    ("detector", "generated", "0.10", None),
    ("detector", "build-config", "0.11", None),
    ("detector", "run", "0.12", None),
    ("detector", "system", "0.15", None),
    ("restorer", "build-image", "0.10", None),
    ("restorer", "daemon", "0.12", None),
    ("restorer", "generated", "0.12", None),
    ("restorer", "layout", "0.12", None),
    ("restorer", "insecure-registry", "0.13", None),
    ("restorer", "run", "0.14", None),
    ("restorer", "skip-layers", None, None),
    ("builder", "build-config", "0.11", None),
    ("builder", "analyzed", "0.12", None),
    ("exporter", "launcher-sbom", "0.11", None),
    ("exporter", "extended", "0.12", None),
    ("exporter", "layout", "0.12", None),
    ("exporter", "run", "0.12", None),
    ("exporter", "insecure-registry", "0.13", None),
    ("exporter", "stack", None, "0.12"),
    ("exporter", "run-image", None, None),
    ("exporter", "image", None, None),
    ("exporter", "launcher", None, None),
    ("creator", "build-config", "0.11", None),
    ("creator", "launcher-sbom", "0.11", None),
    ("creator", "layout", "0.12", None),
    ("creator", "run", "0.12", None),
    ("creator", "insecure-registry", "0.13", None),
    ("creator", "system", "0.15", None),
    ("creator", "stack", None, "0.12"),
    ("creator", "skip-restore", None, None),
    ("creator", "run-image", None, None),
    ("rebaser", "previous-image", "0.11", None),
    ("rebaser", "force", "0.12", None),
    ("rebaser", "insecure-registry", "0.13", None),
    ("rebaser", "image", None, None),
]


def defined(phase: str, flag: str, api: ApiVersion) -> bool:
    return any(f.name == flag and f.available(api) for f in COMMANDS[phase].flags)


@pytest.mark.parametrize(("phase", "flag", "since", "until"), RANGES)
def test_flag_ranges(phase: str, flag: str, since: str | None, until: str | None) -> None:
    for api in SUPPORTED_PLATFORM_APIS:
        expected = (since is None or api.at_least(since)) and (
            until is None or api.less_than(until)
        )
        assert defined(phase, flag, api) == expected, f"-{flag} of {phase} at {api}"


@pytest.mark.parametrize(
    ("phase", "flag", "api"),
    [
        ("creator", "skip-layers", "0.13"),
        ("creator", "analyzed", "0.9"),
        ("creator", "image", "0.9"),
        ("detector", "analyzed", "0.9"),
        ("analyzer", "run", "0.11"),
        ("analyzer", "stack", "0.12"),
    ],
)
def test_undefined_flag_is_exit_2_naming_it(phase: str, flag: str, api: str) -> None:
    with pytest.raises(FlagError) as caught:
        parse(phase, COMMANDS[phase].flags, [f"-{flag}=x"], {}, ApiVersion.parse(api))
    assert caught.value.exit_code == ExitCode.UNDEFINED_FLAG
    assert str(caught.value) == f"flag provided but not defined: -{flag}"


def test_supported_platform_apis_are_the_reference_lifecycles() -> None:
    assert [str(v) for v in SUPPORTED_PLATFORM_APIS] == [
        *("0.7", "0.8", "0.9", "0.10", "0.11", "0.12", "0.13", "0.14", "0.15")
    ]
