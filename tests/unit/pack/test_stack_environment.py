"""mmdebstrap runs with the same environment for every user: maintainer scripts see it."""

from __future__ import annotations

import pytest

from pypack.pack.stack_build import SOURCE_DATE_EPOCH, mmdebstrap_env


def test_mmdebstrap_gets_tools_proxies_and_a_fixed_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1")
    assert mmdebstrap_env() == {
        "PATH": "/usr/bin:/bin",
        "https_proxy": "http://proxy.example:3128",
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
