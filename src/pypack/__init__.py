"""pypack: a Cloud Native Buildpacks platform, lifecycle and buildpack SDK in Python."""

__version__ = "0.1.0"
