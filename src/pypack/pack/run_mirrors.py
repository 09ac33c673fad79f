"""Which run image a build uses, as pack chooses it: the user's mirrors of the builder's run
image first (``pypack config run-image-mirrors``), then the run image, then the builder's
mirrors; of those that can be read, the first on the preferred registry (the app image's when
publishing, else the builder's), else the first readable, else the run image itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pypack.oci.reference import InvalidReference, parse_reference


def registry_of(name: str) -> str:
    """The registry part of an image reference; empty when ``name`` does not parse."""
    try:
        return parse_reference(name).registry
    except InvalidReference:
        return ""


def best_run_mirror(
    preferred_registry: str,
    run_image: str,
    mirrors: Sequence[str],
    user_mirrors: Sequence[str],
    readable: Callable[[str], bool],
) -> str:
    """The run image or mirror to build on (see the module's docstring). Names on the
    preferred registry are tried first, so a build usually checks one name."""
    candidates = list(dict.fromkeys((*user_mirrors, run_image, *mirrors)))
    preferred = [name for name in candidates if registry_of(name) == preferred_registry]
    others = [name for name in candidates if name not in preferred]
    return next((name for name in (*preferred, *others) if readable(name)), run_image)
