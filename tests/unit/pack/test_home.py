"""The pypack home: where it is, what lives under it, and the build cache of each image name."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pypack.oci.layout import LayoutStore
from pypack.pack.home import Home, default_home


def test_pypack_home_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PYPACK_HOME", str(tmp_path / "mine"))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert default_home() == tmp_path / "mine"


@pytest.mark.parametrize("configured", [None, ""])
def test_root_uses_var_lib(monkeypatch: pytest.MonkeyPatch, configured: str | None) -> None:
    if configured is None:
        monkeypatch.delenv("PYPACK_HOME", raising=False)
    else:
        monkeypatch.setenv("PYPACK_HOME", configured)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert default_home() == Path("/var/lib/pypack")


def test_a_user_uses_the_xdg_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PYPACK_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setattr(os, "geteuid", lambda: 1500)
    assert default_home() == tmp_path / "user" / ".local" / "share" / "pypack"


def test_the_paths_under_the_home(tmp_path: Path) -> None:
    home = Home(tmp_path)
    assert isinstance(home.images, LayoutStore)
    assert home.images.root == tmp_path / "images"
    assert home.rootfs == tmp_path / "rootfs"
    assert home.builds == tmp_path / "builds"
    assert home.config == tmp_path / "config.toml"
    assert not any(tmp_path.iterdir()), "naming the paths creates nothing"


@pytest.mark.parametrize(
    ("image", "readable"),
    [
        ("my/app", "my_app"),
        ("docker.io/library/app:latest", "docker.io_library_app_latest"),
        ("localhost:5000/app:v1.2-rc_3", "localhost_5000_app_v1.2-rc_3"),
        ("app@sha256:" + "0" * 8, "app_sha256_00000000"),
        ("oci:/tmp/out:app", "oci_tmp_out_app"),
        ("a//b::c", "a_b_c"),
        ("../../etc", ".._.._etc"),
    ],
)
def test_cache_for_is_one_safe_directory_named_after_the_image(
    tmp_path: Path, image: str, readable: str
) -> None:
    path = Home(tmp_path).cache_for(image)
    assert path.parent == tmp_path / "cache", "never a nested or escaping path"
    assert path.name.startswith(readable)
    assert re.fullmatch(r"[A-Za-z0-9._-]+", path.name)
    assert Home(tmp_path).cache_for(image) == path, "the same image, the same cache"


def test_different_images_get_different_caches(tmp_path: Path) -> None:
    home = Home(tmp_path)
    names = ["my/app", "my_app", "my:app"]
    assert len({home.cache_for(n) for n in names}) == len(names)
