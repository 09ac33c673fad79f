"""The bundled default builders, one per bundled Debian stack, made on first use.

Without ``--builder``, ``pypack build`` takes the first default builder whose stack's Python
satisfies the version the app asks for (``.python-version``, ``runtime.txt``, ...): Debian 12's
3.11 when the app asks for nothing or for something 3.11 satisfies, else Debian 13's 3.13.
"""

from __future__ import annotations

import hashlib
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pypack.errors import UserError
from pypack.pack.home import Home


@dataclass(frozen=True)
class DefaultBuilder:
    """A bundled builder: its image name, its folder under ``pypack/builders`` and its stack."""

    name: str
    folder: str
    stack: str

    @property
    def python(self) -> str:
        """The Python of the stack's build image (``python`` in its ``stack.toml``)."""
        stack_toml = resources.files("pypack.stacks").joinpath(self.stack, "stack.toml")
        return str(tomllib.loads(stack_toml.read_text())["python"])

    @property
    def key_file_name(self) -> str:
        return "default-builder.key" if self.folder == "default" else f"{self.folder}-builder.key"


DEFAULT_BUILDERS = (
    DefaultBuilder("pypack/builder:default", "default", "debian-bookworm"),
    DefaultBuilder("pypack/builder:trixie", "trixie", "debian-trixie"),
)
DEFAULT_BUILDER = DEFAULT_BUILDERS[0].name


def bundled_builder_toml(builder: DefaultBuilder = DEFAULT_BUILDERS[0]) -> Path:
    """A default builder's ``builder.toml`` inside the installed package."""
    return Path(str(resources.files("pypack.builders").joinpath(builder.folder, "builder.toml")))


def bundle_key(builder: DefaultBuilder = DEFAULT_BUILDERS[0]) -> str:
    """A hash of everything a default builder is made from that ships with pypack."""
    package = Path(str(resources.files("pypack")))
    digest = hashlib.sha256()
    for folder in (f"builders/{builder.folder}", "buildpacks", f"stacks/{builder.stack}"):
        for path in sorted((package / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".toml"):
                digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def choose_default_builder(app_dir: Path, say: Callable[[str], None]) -> DefaultBuilder:
    """The default builder for the app in ``app_dir``, saying which and why; a one-line error
    naming the file and the versions on offer when none has the Python the app asks for."""
    from pypack.buildpacks.python.versions import describe, requested_python, satisfies

    try:
        request = requested_python(app_dir)
    except ValueError as error:
        raise UserError(str(error)) from None
    if request is None:
        chosen = DEFAULT_BUILDERS[0]
        say(f"No builder given: using {chosen.name} (Python {chosen.python}; the app asks for no "
            "Python version)")  # fmt: skip
        return chosen
    for builder in DEFAULT_BUILDERS:
        if satisfies(request, builder.python):
            say(f"No builder given: using {builder.name} (Python {builder.python}), as the app "
                f"asks for {describe(request)}")  # fmt: skip
            return builder
    offered = ", ".join(f"{b.python} ({b.name})" for b in DEFAULT_BUILDERS)
    raise UserError(
        f"{request.source}: asks for Python {request.spec}, and the default builders have "
        f"{offered}; ask for one of those, or give --builder with a stack that has it"
    )


def ensure_default_builder(
    home: Home, say: Callable[[str], None], builder: DefaultBuilder = DEFAULT_BUILDERS[0]
) -> str:
    """A default builder's name, building its stack and itself first if they are missing or
    were made from other bundled files (an upgraded pypack)."""
    from pypack.oci.stores import LayoutImageStore
    from pypack.pack.builder_create import create_builder
    from pypack.pack.images import PlatformImages, local_name
    from pypack.pack.stack_build import StackDefinition, build_stack
    from pypack.spec.builder_toml import BuilderConfig

    store = LayoutImageStore(home.images)
    key_file = home.root / builder.key_file_name
    key = bundle_key(builder)
    current = key_file.read_text().strip() if key_file.is_file() else None
    if store.exists(local_name(builder.name)) and current == key:
        return builder.name
    if store.exists(local_name(builder.name)):
        say("The bundled buildpacks changed since the default builder was made; remaking it ...")
    else:
        say(f"No builder given: making the default builder {builder.name} (once) ...")
    started = time.monotonic()
    stack = StackDefinition.load(builder.stack)
    have_stack = store.exists(local_name(stack.build_image)) and store.exists(
        local_name(stack.run_image)
    )
    if current != key or not have_stack:
        say(f"  building stack {stack.id} with mmdebstrap (about a minute the first time) ...")
        build_stack(stack, store, home.root / "stack-cache", say=say)
        say(f"  stack ready after {time.monotonic() - started:.0f} s")
    config_path = bundled_builder_toml(builder)
    images = PlatformImages(home)
    create_builder(
        BuilderConfig.load(config_path),
        config_path.parent,
        builder.name,
        load=images.load,
        target=images,
        wheel_cache=home.wheels,
        warn=lambda text: say(f"  warning: {text}"),
        say=lambda text: say(f"  {text}"),
    )
    key_file.write_text(key + "\n")
    say(f"Default builder ready after {time.monotonic() - started:.0f} s; later builds reuse it")
    return builder.name
