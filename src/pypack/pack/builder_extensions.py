"""The image extensions of a builder: builder.toml's ``[[extensions]]`` and
``[[order-extensions]]``.

Each extension (a directory or a ``.tgz``/``.tar`` file) becomes one layer at
``/cnb/extensions/<escaped id>/<version>``, as pack lays them out; the extensions order is
pinned (every entry gets the version the builder has) for ``/cnb/order.toml``, and the labels
``io.buildpacks.extension.layers`` and ``io.buildpacks.extension.order`` describe both.
Extension images (``image = ...``) are not supported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pypack.errors import SpecError, UserError
from pypack.oci.image import Image
from pypack.oci.layers import LayerInfo
from pypack.pack.buildpackage import buildpack_directory, module_layer
from pypack.spec.builder_toml import BuilderModule
from pypack.spec.extension_toml import ExtensionDescriptor
from pypack.spec.labels import BuildpackOrderLabel, ExtensionLayersLabel, ModuleLayerInfo
from pypack.spec.module import ModuleInfo, ModuleRef, OrderGroup
from pypack.spec.order_toml import PinnedGroup, PinnedRef

ORDER_LABEL = "io.buildpacks.extension.order"


@dataclass
class BuilderExtension:
    """An extension added to the builder: what it says and its layer."""

    descriptor: ExtensionDescriptor
    layer_path: Path
    layer: LayerInfo
    layer_info: ModuleLayerInfo

    @property
    def info(self) -> ModuleInfo:
        return self.descriptor.extension


def fetch_extensions(
    modules: list[BuilderModule], config_dir: Path, scratch: Path, config_name: str
) -> list[BuilderExtension]:
    """The extensions of ``[[extensions]]``, each as a layer written under ``scratch``."""
    found: list[BuilderExtension] = []
    for module in modules:
        if module.image or not module.uri or "://" in module.uri.removeprefix("file://"):
            source = module.image or module.uri
            raise UserError(
                f"{config_name}: [[extensions]] {source}: only a local directory or .tgz file "
                "is supported"
            )
        directory = buildpack_directory(module.uri, config_dir, scratch, "extension.toml")
        try:
            descriptor = ExtensionDescriptor.load(directory / "extension.toml")
        except SpecError as exc:
            raise UserError(f"{config_name}: [[extensions]] {exc}") from None
        info = descriptor.extension
        if module.id and module.id != info.id:
            raise UserError(
                f"{config_name}: extension from {module.uri!r} is not {module.id!r} as it says"
            )
        path, layer = module_layer(directory, "extensions", info, scratch)
        layer_info = ModuleLayerInfo.model_validate(
            {
                "api": descriptor.api,
                "targets": descriptor.targets,
                "layerDiffID": layer.diff_id,
                "homepage": info.homepage,
                "name": info.name,
            }
        )
        found.append(BuilderExtension(descriptor, path, layer, layer_info))
    return found


def pin_extension_order(
    order: list[OrderGroup], extensions: list[BuilderExtension], config_name: str
) -> list[PinnedGroup]:
    """``[[order-extensions]]`` with every entry's version: the one the builder has."""
    versions: dict[str, list[str]] = {}
    for extension in extensions:
        versions.setdefault(extension.info.id, []).append(extension.info.version or "")
    pinned = []
    for group in order:
        refs = []
        for ref in group.group:
            have = versions.get(ref.id, [])
            version = ref.version or (have[0] if len(have) == 1 else "")
            if version not in have or not version:
                raise UserError(
                    f"{config_name}: order-extensions: extension "
                    f"{ref.id}{'@' + ref.version if ref.version else ''} is not one version of "
                    "[[extensions]]"
                )
            refs.append(PinnedRef(id=ref.id, version=version))
        pinned.append(PinnedGroup(group=refs))
    return pinned


def add_extensions(
    image: Image, extensions: list[BuilderExtension], order: list[PinnedGroup]
) -> None:
    """Put each extension's layer on ``image`` and set the extension labels."""
    layers: dict[str, dict[str, ModuleLayerInfo]] = {}
    for extension in extensions:
        info = extension.info
        version = info.version or ""
        if version in layers.get(info.id, {}):
            continue
        image.add_layer(
            extension.layer_path,
            extension.layer,
            created_by=f"pypack: extension {info.full_name}",
        )
        layers.setdefault(info.id, {})[version] = extension.layer_info
    image.set_label(
        ExtensionLayersLabel.label_name, ExtensionLayersLabel(modules=layers).to_label()
    )
    if order:
        groups = [
            OrderGroup(group=[ModuleRef(id=r.id, version=r.version) for r in g.group])
            for g in order
        ]
        image.set_label(ORDER_LABEL, BuildpackOrderLabel(order=groups).to_label())
