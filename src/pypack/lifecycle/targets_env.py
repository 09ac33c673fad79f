"""``CNB_TARGET_*``: the run image's target as buildpacks (API >= 0.10) see it."""

from __future__ import annotations

import os

from pypack.spec.analyzed_toml import TargetMetadata


def host_arch() -> str:
    """This machine's architecture in OCI spelling."""
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


def target_env(target: TargetMetadata | None) -> dict[str, str]:
    """The ``CNB_TARGET_*`` variables for ``target``."""
    target = target or TargetMetadata()
    variables = {
        "CNB_TARGET_OS": target.os or "linux",
        "CNB_TARGET_ARCH": target.arch or host_arch(),
    }
    if target.arch_variant:
        variables["CNB_TARGET_ARCH_VARIANT"] = target.arch_variant
    if target.distro is not None:
        if target.distro.name:
            variables["CNB_TARGET_DISTRO_NAME"] = target.distro.name
        if target.distro.version:
            variables["CNB_TARGET_DISTRO_VERSION"] = target.distro.version
    return variables
