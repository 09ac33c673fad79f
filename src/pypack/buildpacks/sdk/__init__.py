"""Write Cloud Native Buildpacks in Python.

A buildpack is a directory with ``buildpack.toml`` and ``buildpack.py``; the module defines
``detect(ctx)`` and ``build(ctx)`` (or an object named ``buildpack`` with those methods).
pypack adds the ``bin/detect`` and ``bin/build`` shims and a copy of this SDK when it packages
the buildpack. The SDK needs only the standard library (Python 3.11+), so it runs on any build
image with ``python3``.
"""

from pypack.buildpacks.sdk.context import BuildContext, DetectContext, Target
from pypack.buildpacks.sdk.detect import Detected, Provide, Require
from pypack.buildpacks.sdk.launch import Process
from pypack.buildpacks.sdk.layers import Environment, Layer
from pypack.buildpacks.sdk.runner import BuildpackError

__all__ = [
    "BuildContext",
    "BuildpackError",
    "DetectContext",
    "Detected",
    "Environment",
    "Layer",
    "Process",
    "Provide",
    "Require",
    "Target",
]
