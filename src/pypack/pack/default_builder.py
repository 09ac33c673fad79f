"""The bundled default builder: made on first use from the bundled stack and buildpacks."""

from __future__ import annotations

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


def ensure_default_builder(home: Home, say: Callable[[str], None]) -> str:
    """The default builder's name, building its stack and itself first if they are missing."""
    from pypack.pack.builder_create import create_builder
    from pypack.pack.images import PlatformImages
    from pypack.pack.stack_build import StackDefinition, build_stack
    from pypack.spec.builder_toml import BuilderConfig

    store = LayoutImageStore(home.images)
    if store.exists(local_name(DEFAULT_BUILDER)):
        return DEFAULT_BUILDER
    say(f"No builder given: making the default builder {DEFAULT_BUILDER} (once) ...")
    started = time.monotonic()
    stack = StackDefinition.load(DEFAULT_STACK)
    if not (
        store.exists(local_name(stack.build_image)) and store.exists(local_name(stack.run_image))
    ):
        say(f"  building stack {stack.id} with mmdebstrap (about a minute) ...")
        build_stack(stack, store, home.root / "stack-cache")
        say(f"  stack ready after {time.monotonic() - started:.0f} s")
    config_path = bundled_builder_toml()
    images = PlatformImages(home)
    create_builder(
        BuilderConfig.load(config_path),
        config_path.parent,
        DEFAULT_BUILDER,
        load=images.load,
        target=images,
        rootfs_cache=home.rootfs,
        warn=lambda text: say(f"  warning: {text}"),
    )
    say(f"Default builder ready after {time.monotonic() - started:.0f} s; later builds reuse it")
    return DEFAULT_BUILDER
