"""Buildpacks: the SDK for writing buildpacks in Python, and the bundled buildpacks."""
