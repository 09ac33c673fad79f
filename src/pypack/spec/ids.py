"""Buildpack and extension IDs: what is allowed, and how an ID becomes a directory name.

The spec allows only letters, digits, ``.``, ``/`` and ``-`` and reserves ``app``, ``config``,
``generated`` and ``sbom``. Neither the reference lifecycle nor pack checks either rule: IDs such
as ``simple_buildpack`` are common (the reference's own acceptance fixtures use them), so they
are accepted here too. What is refused is what cannot work there either: pack requires a
non-empty ``buildpack.id``, and an ID that is ``.`` or ``..`` once escaped names no directory of
its own under ``/cnb/buildpacks`` or ``<layers>`` (nor does one with a NUL), so the reference
cannot find it. :func:`spec_id_warning` says when an ID is one the spec reserves, for warnings.
"""

from __future__ import annotations

RESERVED_IDS = frozenset({"app", "config", "generated", "sbom"})


def check_id(value: str) -> str:
    """Return ``value`` if the reference would accept it as an ID, else raise ``ValueError``."""
    if not value:
        raise ValueError("must not be empty")
    if escape_id(value) in (".", ".."):
        raise ValueError(f"{value!r} is not a directory name of its own; choose another ID")
    if "\0" in value:
        raise ValueError("must not contain a NUL character")
    return value


def spec_id_warning(value: str) -> str | None:
    """Why ``value`` is an ID the spec reserves (the reference does not refuse it), if it is."""
    if value.lower() in RESERVED_IDS:
        return (
            f"{value!r} is reserved by the spec; its layers would share "
            f"<layers>/{value.lower()} with the lifecycle's own files"
        )
    return None


def escape_id(value: str) -> str:
    """The directory name for an ID: ``/`` becomes ``_`` (``paketo/node`` → ``paketo_node``)."""
    return value.replace("/", "_")
