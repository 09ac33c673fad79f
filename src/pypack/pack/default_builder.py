"""The bundled default builder: made on first use from the bundled stack and buildpacks."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from pypack.oci.stores import LayoutImageStore
from pypack.pack.home import Home
from pypack.pack.images import local_name

DEFAULT_BUILDER = "pypack/builder:default"
DEFAULT_STACK = "debian-bookworm"


def bundled_builder_toml() -> Path:
    """The default builder's ``builder.toml`` inside the installed package."""
    return Path(str(resources.files("pypack.builders").joinpath("default", "builder.toml")))


def bundle_key() -> str:
    """A hash of everything the default builder is made from that ships with pypack."""
    package = Path(str(resources.files("pypack")))
    digest = hashlib.sha256()
    for folder in ("builders/default", "buildpacks", f"stacks/{DEFAULT_STACK}"):
        for path in sorted((package / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".toml"):
                digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_default_builder(home: Home, say: Callable[[str], None]) -> str:
    """The default builder's name, building its stack and itself first if they are missing or
    were made from other bundled files (an upgraded pypack)."""
    from pypack.pack.builder_create import create_builder
    from pypack.pack.images import PlatformImages
    from pypack.pack.stack_build import StackDefinition, build_stack
    from pypack.spec.builder_toml import BuilderConfig

    store = LayoutImageStore(home.images)
    key_file = home.root / "default-builder.key"
    key = bundle_key()
    current = key_file.read_text().strip() if key_file.is_file() else None
    if store.exists(local_name(DEFAULT_BUILDER)) and current == key:
        return DEFAULT_BUILDER
    if store.exists(local_name(DEFAULT_BUILDER)):
        say("The bundled buildpacks changed since the default builder was made; remaking it ...")
    else:
        say(f"No builder given: making the default builder {DEFAULT_BUILDER} (once) ...")
    started = time.monotonic()
    stack = StackDefinition.load(DEFAULT_STACK)
    have_stack = store.exists(local_name(stack.build_image)) and store.exists(
        local_name(stack.run_image)
    )
    if current != key or not have_stack:
        say(f"  building stack {stack.id} with mmdebstrap (about a minute the first time) ...")
        build_stack(stack, store, home.root / "stack-cache", say=say)
        say(f"  stack ready after {time.monotonic() - started:.0f} s")
    config_path = bundled_builder_toml()
    images = PlatformImages(home)
    create_builder(
        BuilderConfig.load(config_path),
        config_path.parent,
        DEFAULT_BUILDER,
        load=images.load,
        target=images,
        wheel_cache=home.wheels,
        warn=lambda text: say(f"  warning: {text}"),
        say=lambda text: say(f"  {text}"),
    )
    key_file.write_text(key + "\n")
    say(f"Default builder ready after {time.monotonic() - started:.0f} s; later builds reuse it")
    return DEFAULT_BUILDER
