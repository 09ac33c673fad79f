"""greeter: a package pypack installs into the image, non-editable."""

__version__ = "1.0.0"
