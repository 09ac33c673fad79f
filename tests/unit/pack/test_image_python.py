"""The python3 of an image, read from its layers, and the wheel tags that fit it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pypack.errors import UserError
from pypack.oci.image import Image
from pypack.oci.layers import LayerWriter, write_layer_file
from pypack.pack.image_python import Interpreter, probe

GLIBC_BANNER = b"\0GNU C Library (Debian GLIBC 2.41-12) stable release version 2.41.\n\0"

Fill = Callable[[LayerWriter], None]


def image_of(tmp_path: Path, *fills: Fill, path_env: str | None = None) -> Image:
    image = Image.empty()
    for number, fill in enumerate(fills):
        layer = tmp_path / f"layer-{number}.tar"
        image.add_layer(layer, write_layer_file(layer, fill))
    if path_env is not None:
        image.set_env("PATH", path_env)
    return image


def files(writer: LayerWriter, entries: dict[str, bytes | str]) -> None:
    """``bytes`` values are files, ``str`` values symlink targets; parents are added."""
    for name, value in entries.items():
        writer.add_parents(name)
        if isinstance(value, str):
            writer.add_symlink(name, value)
        else:
            writer.add_bytes(name, value, mode=0o755)


def debian(writer: LayerWriter) -> None:
    """Debian 13's layout: merged /usr, python3 -> python3.13, two sysconfigdata names."""
    files(
        writer,
        {
            "bin": "usr/bin",
            "lib": "usr/lib",
            "lib64": "usr/lib64",
            "usr/bin/python3": "python3.13",
            "usr/bin/python3.13": b"\x7fELF",
            "usr/lib/python3.13/_sysconfigdata__linux_x86_64-linux-gnu.py": b"build_time_vars={}",
            "usr/lib/python3.13/_sysconfigdata__x86_64-linux-gnu.py": (
                "_sysconfigdata__linux_x86_64-linux-gnu.py"
            ),
            "usr/lib/python3/dist-packages/x.py": b"",
            "usr/local/lib/python3.13/dist-packages/.keep": b"",
            "usr/lib/x86_64-linux-gnu/libc.so.6": b"\x7fELF" + GLIBC_BANNER,
        },
    )


def test_debian_python3_is_found_through_its_symlinks(tmp_path: Path) -> None:
    found = probe(image_of(tmp_path, debian), "debian")
    assert found == Interpreter(
        executable="/usr/bin/python3.13",
        version=(3, 13),
        abi="cp313",
        machine="x86_64",
        libc="glibc",
        libc_version=(2, 41),
    )
    assert found.key == "cp313-manylinux_2_41_x86_64"
    assert found.version_text == "3.13"


def test_python_image_in_usr_local_on_arm64_with_an_older_glibc(tmp_path: Path) -> None:
    def fill(writer: LayerWriter) -> None:
        files(
            writer,
            {
                "usr/local/bin/python3": "/usr/local/bin/python3.12",
                "usr/local/bin/python3.12": b"\x7fELF",
                "usr/local/lib/python3.12/_sysconfigdata__linux_aarch64-linux-gnu.py": b"",
                "lib/aarch64-linux-gnu/libc-2.31.so": b"\x7fELF",
                "lib/aarch64-linux-gnu/libc.so.6": "libc-2.31.so",
                "usr/bin/python3": "python3.9",  # later on PATH: not the one
                "usr/bin/python3.9": b"\x7fELF",
            },
        )

    found = probe(image_of(tmp_path, fill, path_env="/usr/local/bin:/usr/bin:/bin"), "py")
    assert found is not None
    assert (found.executable, found.abi, found.machine) == (
        "/usr/local/bin/python3.12",
        "cp312",
        "aarch64",
    )
    assert found.libc_version == (2, 31)
    assert found.platforms[0] == "manylinux_2_31_aarch64"
    assert found.platforms[-1] == "manylinux2014_aarch64"  # no manylinux1/2010 off x86


def test_alpine_musl(tmp_path: Path) -> None:
    def fill(writer: LayerWriter) -> None:
        files(
            writer,
            {
                "usr/bin/python3": "python3.12",
                "usr/bin/python3.12": b"\x7fELF",
                "usr/lib/python3.12/_sysconfigdata__linux_x86_64-linux-musl.py": b"",
                "lib/ld-musl-x86_64.so.1": b"\x7fELF",
                "lib/apk/db/installed": b"C:Q1x\nP:musl\nV:1.2.5-r0\nA:x86_64\n\n",
            },
        )

    found = probe(image_of(tmp_path, fill), "alpine")
    assert found is not None
    assert (found.libc, found.libc_version) == ("musl", (1, 2))
    assert found.platforms == (
        "musllinux_1_2_x86_64",
        "musllinux_1_1_x86_64",
        "musllinux_1_0_x86_64",
    )


def test_unversioned_free_threaded_python_is_named_by_its_lib_directory(tmp_path: Path) -> None:
    def fill(writer: LayerWriter) -> None:
        files(
            writer,
            {
                "opt/py/bin/python3": b"\x7fELF",
                "opt/py/lib/python3.14t/_sysconfigdata_t_linux_x86_64-linux-gnu.py": b"",
                "lib64/libc.so.6": GLIBC_BANNER,
            },
        )

    found = probe(image_of(tmp_path, fill, path_env="/opt/py/bin"), "ft")
    assert found is not None
    assert (found.executable, found.version, found.abi) == (
        "/opt/py/bin/python3",
        (3, 14),
        "cp314t",
    )


def test_a_whiteout_in_a_later_layer_removes_python(tmp_path: Path) -> None:
    def remove(writer: LayerWriter) -> None:
        writer.add_dir("usr")
        writer.add_dir("usr/bin")
        writer.add_bytes("usr/bin/.wh.python3.13", b"")

    assert probe(image_of(tmp_path, debian, remove), "removed") is None


@pytest.mark.parametrize("opaque", [True, False])
def test_an_opaque_directory_hides_what_was_below_it(tmp_path: Path, opaque: bool) -> None:
    def upper(writer: LayerWriter) -> None:
        entries: dict[str, bytes | str] = {"usr/bin/.wh..wh..opq": b""} if opaque else {}
        files(writer, {**entries, "usr/bin/pip": b"#!/bin/sh\n"})

    found = probe(image_of(tmp_path, debian, upper), "opaque")
    assert (found is None) is opaque


def test_no_python3_gives_none(tmp_path: Path) -> None:
    def busybox(writer: LayerWriter) -> None:
        files(writer, {"bin/busybox": b"\x7fELF", "bin/sh": "busybox", "python3": b"not on PATH"})

    assert probe(image_of(tmp_path, busybox, path_env="/bin"), "tiny") is None


def test_a_dangling_python3_link_is_no_python(tmp_path: Path) -> None:
    def fill(writer: LayerWriter) -> None:
        files(writer, {"usr/bin/python3": "python3.13", "usr/bin/loop": "loop"})

    assert probe(image_of(tmp_path, fill), "dangling") is None


def test_python_without_sysconfigdata_is_a_one_line_error(tmp_path: Path) -> None:
    def fill(writer: LayerWriter) -> None:
        files(writer, {"usr/bin/python3": "python3.13", "usr/bin/python3.13": b"\x7fELF"})

    with pytest.raises(UserError) as caught:
        probe(image_of(tmp_path, fill), "build image x")
    message = str(caught.value)
    assert message.startswith("build image x: /usr/bin/python3.13 is Python 3.13 but there is no")
    assert "/usr/lib/python3.13" in message
    assert "\n" not in message


def test_unknown_glibc_version_assumes_manylinux2014(tmp_path: Path) -> None:
    def fill(writer: LayerWriter) -> None:
        files(
            writer,
            {
                "usr/bin/python3": "python3.11",
                "usr/bin/python3.11": b"\x7fELF",
                "usr/lib/python3.11/_sysconfigdata__linux_x86_64-linux-gnu.py": b"",
            },
        )

    found = probe(image_of(tmp_path, fill), "no libc")
    assert found is not None
    assert found.platforms[:2] == ("manylinux_2_17_x86_64", "manylinux2014_x86_64")


TRIXIE = Interpreter("/usr/bin/python3.13", (3, 13), "cp313", "x86_64", "glibc", (2, 41))
FREE_THREADED = Interpreter("/usr/bin/python3.13t", (3, 13), "cp313t", "x86_64", "glibc", (2, 41))


def test_glibc_platform_tags_run_from_newest_to_manylinux1() -> None:
    platforms = TRIXIE.platforms
    assert platforms[0] == "manylinux_2_41_x86_64"
    assert platforms.index("manylinux2014_x86_64") == platforms.index("manylinux_2_17_x86_64") + 1
    assert "manylinux2010_x86_64" in platforms
    assert platforms[-2:] == ("manylinux_2_5_x86_64", "manylinux1_x86_64")
    assert "linux_x86_64" not in platforms  # unportable wheels never fit an image


@pytest.mark.parametrize(
    ("wheel", "fits"),
    [
        ("pydantic_core-2.50.5-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True),
        ("charset_normalizer-3.5.3-cp313-cp313-manylinux1_x86_64.manylinux_2_28_x86_64.whl", True),
        ("pydantic_core-2.50.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", False),
        ("pydantic_core-2.50.5-cp313-cp313-musllinux_1_1_x86_64.whl", False),
        ("pydantic_core-2.50.5-cp313-cp313-manylinux_2_17_aarch64.whl", False),
        ("pydantic_core-2.50.5-cp313-cp313t-manylinux_2_17_x86_64.whl", False),
        ("future-1.0-cp313-cp313-manylinux_2_42_x86_64.whl", False),
        ("native-1.0-cp313-cp313-linux_x86_64.whl", False),
        ("stable-1.0-cp39-abi3-manylinux2014_x86_64.whl", True),
        ("pydantic-2.14.4-py3-none-any.whl", True),
        ("old-1.0-py2-none-any.whl", False),
        ("not-a-wheel-1.0.tar.gz", False),
    ],
)
def test_wheel_tags_fit_the_interpreter(wheel: str, fits: bool) -> None:
    assert TRIXIE.accepts(wheel) is fits


def test_free_threaded_python_takes_no_abi3_wheels() -> None:
    assert FREE_THREADED.accepts("x-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl")
    assert not FREE_THREADED.accepts("x-1.0-cp39-abi3-manylinux2014_x86_64.whl")
    assert not FREE_THREADED.accepts("x-1.0-cp313-cp313-manylinux2014_x86_64.whl")
    assert FREE_THREADED.accepts("x-1.0-py3-none-any.whl")
