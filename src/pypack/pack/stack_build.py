"""``pypack stack build``: a stack's build and run images from its definition.

A stack lives in ``pypack/stacks/<name>/stack.toml`` (or any directory with one): its ID, its
kind, the names of the two images, and the users they run as. The images get the CNB user and
group, ``CNB_USER_ID``/``CNB_GROUP_ID`` (build image), and the ``io.buildpacks.base.*`` and
deprecated ``io.buildpacks.stack.*`` labels with the target's distro.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pypack.errors import UserError
from pypack.oci.image import Image, SaveResult
from pypack.oci.layers import LayerWriter, tar_file_info, write_layer_file
from pypack.oci.stores import LayoutImageStore
from pypack.pack.images import local_name
from pypack.pack.rootless import RootlessCheck
from pypack.pack.stack_tools import tools_layer
from pypack.spec.ids import escape_id


@dataclass(frozen=True)
class User:
    """A user of a stack image."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class StackDefinition:
    """A parsed ``stack.toml``."""

    directory: Path
    id: str
    kind: str
    description: str
    build_image: str
    run_image: str
    build_user: User
    run_user: User
    suite: str = ""
    distro_version: str = ""
    packages: dict[str, list[str]] | None = None
    tools: dict[str, list[str]] | None = None

    @classmethod
    def load(cls, name_or_dir: str) -> StackDefinition:
        """A bundled stack by name, or the stack in a directory."""
        directory = Path(name_or_dir)
        if not (directory / "stack.toml").is_file():
            bundled = resources.files("pypack.stacks").joinpath(name_or_dir)
            directory = Path(str(bundled))
        path = directory / "stack.toml"
        if not path.is_file():
            raise UserError(f"no stack {name_or_dir!r}: not a bundled stack and no {path}")
        data = tomllib.loads(path.read_text())
        try:
            return cls(
                directory=directory,
                id=data["id"],
                kind=data["kind"],
                description=data.get("description", ""),
                build_image=data["build-image"],
                run_image=data["run-image"],
                build_user=User(**data["build-user"]),
                run_user=User(**data["run-user"]),
                suite=data.get("suite", ""),
                distro_version=str(data.get("distro-version", "")),
                packages=data.get("packages"),
                tools=data.get("tools"),
            )
        except (KeyError, TypeError) as exc:
            raise UserError(f"{path}: missing or malformed key {exc}") from None


def _passwd(users: list[User]) -> tuple[bytes, bytes]:
    passwd = "root:x:0:0:root:/root:/bin/sh\n" + "".join(
        f"{u.name}:x:{u.uid}:{u.gid}::/home/{u.name}:/bin/sh\n" for u in users
    )
    groups = {u.gid: u.name for u in users}
    group = "root:x:0:\n" + "".join(f"{name}:x:{gid}:\n" for gid, name in sorted(groups.items()))
    return passwd.encode(), group.encode()


def busybox_layer(users: list[User]) -> Callable[[LayerWriter], None]:
    """A root filesystem of busybox-static with every applet linked in /bin."""
    busybox = shutil.which("busybox")
    if busybox is None:
        raise UserError("busybox is not installed (Debian package busybox-static)")
    listing = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    applets = sorted(a for a in listing.stdout.split() if a and a != "busybox")
    passwd, group = _passwd(users)

    def fill(writer: LayerWriter) -> None:
        writer.add_dir("bin")
        writer.add_tree(Path(busybox), "bin/busybox", uid=0, gid=0)
        for applet in applets:
            writer.add_symlink(f"bin/{applet}", "busybox")
        writer.add_dir("etc")
        writer.add_bytes("etc/passwd", passwd)
        writer.add_bytes("etc/group", group)
        writer.add_bytes("etc/os-release", b'ID=busybox\nVERSION_ID="1"\nNAME="BusyBox"\n')
        writer.add_dir("home")
        for user in users:
            writer.add_dir(f"home/{user.name}", uid=user.uid, gid=user.gid)
        writer.add_dir("tmp", mode=0o1777)
        writer.add_dir("usr")
        writer.add_symlink("usr/bin", "../bin")

    return fill


def _label(image: Image, stack: StackDefinition, distro: tuple[str, str]) -> None:
    image.set_label("io.buildpacks.base.id", stack.id)
    image.set_label("io.buildpacks.base.description", stack.description)
    image.set_label("io.buildpacks.base.distro.name", distro[0])
    image.set_label("io.buildpacks.base.distro.version", distro[1])
    image.set_label("io.buildpacks.base.maintainer", "pypack")
    image.set_label("io.buildpacks.stack.id", stack.id)
    image.set_label("io.buildpacks.stack.mixins", "[]")


SOURCE_DATE_EPOCH = "1700000000"
"""Fixed file times for mmdebstrap, so the same package versions give the same rootfs."""
MMDEBSTRAP_PASSED = (
    "PATH", "TMPDIR", "APT_CONFIG",
    "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
)  # fmt: skip
"""What mmdebstrap gets from the caller's environment: where its tools, temporary files, apt
configuration and proxies are. Nothing else: maintainer scripts see the environment, and a
variable such as PYTHONDONTWRITEBYTECODE changes which .pyc files they leave."""
MMDEBSTRAP_ENV = {
    "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
}
"""The rest of its environment, the same for every user: with PYTHONDONTWRITEBYTECODE only
py3compile writes .pyc files (hash-based, as SOURCE_DATE_EPOCH asks), not every Python that a
maintainer script starts."""


def debian_rootfs(
    stack: StackDefinition,
    which: str,
    cache: Path,
    *,
    refresh: bool = False,
    say: Callable[[str], None] | None = None,
) -> Path:
    """A Debian rootfs tar made by mmdebstrap with the stack's packages and users, cached by
    everything that goes into it. With ``say``, mmdebstrap's phases are reported as it goes."""
    packages = sorted((stack.packages or {}).get(which, []))
    users = [stack.build_user, stack.run_user]
    recipe = json.dumps(
        [stack.suite, packages, [vars(u) for u in users], SOURCE_DATE_EPOCH, MMDEBSTRAP_ENV]
    )
    key = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    target = cache / f"{escape_id(stack.id)}-{which}-{key}.tar"
    if target.is_file() and not refresh:
        if say is not None:
            say(f"Using the cached {which} rootfs of {stack.id} ({target.name})")
        return target
    mmdebstrap = shutil.which("mmdebstrap")
    if mmdebstrap is None:
        raise UserError(
            "mmdebstrap is not installed (Debian package mmdebstrap); scripts/setup.sh installs it"
        )
    mode = _mmdebstrap_mode(stack)
    cache.mkdir(parents=True, exist_ok=True)
    hooks = []
    for gid in sorted({u.gid for u in users}):
        name = next(u.name for u in users if u.gid == gid)
        hooks.append(f'--customize-hook=chroot "$1" groupadd -g {gid} {name}')
    for user in users:
        useradd = f"useradd -u {user.uid} -g {user.gid} -m -s /bin/bash {user.name}"
        hooks.append(f'--customize-hook=chroot "$1" {useradd}')
    partial = target.with_suffix(".partial.tar")
    command = [
        mmdebstrap,
        *(["--quiet"] if say is None else []),
        "--variant=minbase",
        "--skip=output/dev",
        *mode,
        *([f"--include={','.join(packages)}"] if packages else []),
        *hooks,
    ]
    if say is not None:
        say(f"Creating the {which} rootfs of {stack.id} with mmdebstrap ({stack.suite}, "
            f"{len(packages)} packages)")  # fmt: skip
    started = time.monotonic()
    code, last = _run_mmdebstrap([*command, stack.suite, str(partial)], say)
    if code != 0:
        partial.unlink(missing_ok=True)
        raise UserError(f"stack {stack.id}: mmdebstrap failed ({code}): {last}")
    partial.rename(target)
    if say is not None:
        say(f"  {which} rootfs done in {time.monotonic() - started:.0f} s")
    return target


def _run_mmdebstrap(argv: list[str], say: Callable[[str], None] | None) -> tuple[int, str]:
    """Run mmdebstrap, passing each line it prints to ``say``; its exit code and last line."""
    last = "no output"
    with subprocess.Popen(
        argv, env=mmdebstrap_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip():
                last = line.strip()
                if say is not None:
                    say(f"  [mmdebstrap] {last}")
    return process.returncode, last


def mmdebstrap_env() -> dict[str, str]:
    """The environment mmdebstrap runs with (see :data:`MMDEBSTRAP_PASSED`)."""
    passed = {name: os.environ[name] for name in MMDEBSTRAP_PASSED if name in os.environ}
    return {**passed, **MMDEBSTRAP_ENV}


def _mmdebstrap_mode(stack: StackDefinition) -> list[str]:
    """No flag as root (mmdebstrap's root mode); ``--mode=unshare`` otherwise, once the machine
    is known to offer what it needs — else one line naming each missing piece and its fix."""
    if os.geteuid() == 0:
        return []
    check = RootlessCheck.probe()
    problems = check.problems()
    if problems:
        who = f"{check.user} (uid {check.uid})" if check.user else f"uid {check.uid}"
        raise UserError(
            f"stack {stack.id}: mmdebstrap cannot build it as {who} without root: "
            + "; ".join(problems)
        )
    return ["--mode=unshare"]


def _debian_images(
    stack: StackDefinition, cache: Path, refresh: bool, say: Callable[[str], None] | None
) -> tuple[Image, Image]:
    images = []
    for which in ("build", "run"):
        rootfs = debian_rootfs(stack, which, cache, refresh=refresh, say=say)
        image = Image.empty()
        image.add_layer(rootfs, tar_file_info(rootfs), created_by=f"mmdebstrap {stack.suite}")
        wheels = (stack.tools or {}).get(which, [])
        tools = tools_layer(wheels, cache, say)
        if tools is not None:
            image.add_layer(tools, tar_file_info(tools), created_by=f"pypack: {' '.join(wheels)}")
        image.set_env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        images.append(image)
    return images[0], images[1]


def build_stack(
    stack: StackDefinition,
    store: LayoutImageStore,
    cache: Path,
    *,
    refresh: bool = False,
    say: Callable[[str], None] | None = None,
) -> tuple[SaveResult, SaveResult]:
    """Build the stack's images into ``store``; return (build, run) results. ``say`` hears
    the phases of a Debian stack's creation."""
    if stack.kind == "debian":
        build, run = _debian_images(stack, cache, refresh, say)
        return _finish(stack, store, build, run, ("debian", stack.distro_version))
    if stack.kind != "busybox":
        raise UserError(
            f"stack {stack.id}: kind {stack.kind!r} is not supported (busybox, debian are)"
        )
    users = [stack.build_user, stack.run_user]
    scratch = Path(tempfile.mkdtemp(prefix="pypack-stack-"))
    try:
        path = scratch / "base.tar"
        base = Image.empty()
        base.add_layer(
            path,
            write_layer_file(path, busybox_layer(users)),
            created_by=f"pypack stack {stack.id}",
        )
        base.set_env("PATH", "/bin")
        return _finish(stack, store, base.copy(), base.copy(), ("busybox", "1"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _finish(
    stack: StackDefinition,
    store: LayoutImageStore,
    build: Image,
    run: Image,
    distro: tuple[str, str],
) -> tuple[SaveResult, SaveResult]:
    for image, user in ((build, stack.build_user), (run, stack.run_user)):
        _label(image, stack, distro)
        image.set_user(f"{user.uid}:{user.gid}")
    build.set_env("CNB_USER_ID", str(stack.build_user.uid))
    build.set_env("CNB_GROUP_ID", str(stack.build_user.gid))
    build.set_env("CNB_STACK_ID", stack.id)
    run.set_label("io.buildpacks.rebasable", "true")
    return (
        store.save(build, [local_name(stack.build_image)]),
        store.save(run, [local_name(stack.run_image)]),
    )
