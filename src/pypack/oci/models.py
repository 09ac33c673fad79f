"""OCI image-spec and Docker v2 models: descriptors, manifests, indexes and image configs.

Unknown fields are kept (``extra="allow"``) so a read-modify-write never drops what another
tool wrote. A document pypack did not author is never re-serialised: :class:`RawDocument` keeps
the bytes that were read next to their digest, and :func:`canonical_json` is used only for
documents pypack writes, hashing exactly the bytes it stores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pypack.errors import PypackError
from pypack.oci import mediatypes
from pypack.oci.digest import sha256_of


class OciModel(BaseModel):
    """Base of the image-spec models: camelCase keys as written, unknown keys kept."""

    # defer_build: schemas are built on first use, not when a command imports the models
    model_config = ConfigDict(
        extra="allow", validate_by_name=True, validate_by_alias=True, defer_build=True
    )

    def to_json(self) -> bytes:
        """Canonical bytes for a document pypack authors."""
        return canonical_json(self.model_dump(mode="json", by_alias=True, exclude_none=True))


def canonical_json(data: Any) -> bytes:
    """Compact JSON with keys in the order given: the same data gives the same bytes."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Platform(OciModel):
    """Where an image runs: ``os``/``architecture``/``variant``."""

    architecture: str
    os: str
    os_version: str | None = Field(None, alias="os.version")
    os_features: list[str] | None = Field(None, alias="os.features")
    variant: str | None = None

    def matches(self, wanted: Platform) -> bool:
        """True when os and architecture are equal and the variant agrees if both name one."""
        if (self.os, self.architecture) != (wanted.os, wanted.architecture):
            return False
        return not (self.variant and wanted.variant and self.variant != wanted.variant)

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)


class Descriptor(OciModel):
    """A pointer to content: media type, digest, size."""

    media_type: str = Field(alias="mediaType")
    digest: str
    size: int
    urls: list[str] | None = None
    annotations: dict[str, str] | None = None
    platform: Platform | None = None
    artifact_type: str | None = Field(None, alias="artifactType")


class Manifest(OciModel):
    """An image manifest (OCI or Docker v2 schema 2)."""

    schema_version: int = Field(2, alias="schemaVersion")
    media_type: str | None = Field(None, alias="mediaType")
    config: Descriptor
    layers: list[Descriptor] = []
    annotations: dict[str, str] | None = None


class Index(OciModel):
    """An OCI image index or a Docker manifest list."""

    schema_version: int = Field(2, alias="schemaVersion")
    media_type: str | None = Field(None, alias="mediaType")
    manifests: list[Descriptor] = []
    annotations: dict[str, str] | None = None


class ContainerConfig(OciModel):
    """The ``config`` object of an image config: how a container of it starts."""

    user: str | None = Field(None, alias="User")
    exposed_ports: dict[str, Any] | None = Field(None, alias="ExposedPorts")
    env: list[str] | None = Field(None, alias="Env")
    entrypoint: list[str] | None = Field(None, alias="Entrypoint")
    cmd: list[str] | None = Field(None, alias="Cmd")
    volumes: dict[str, Any] | None = Field(None, alias="Volumes")
    working_dir: str | None = Field(None, alias="WorkingDir")
    labels: dict[str, str] | None = Field(None, alias="Labels")
    stop_signal: str | None = Field(None, alias="StopSignal")


class RootFs(OciModel):
    """``rootfs``: the diffIDs (uncompressed layer digests), bottom first."""

    type: str = "layers"
    diff_ids: list[str] = []


class History(OciModel):
    """One ``history`` entry."""

    created: str | None = None
    created_by: str | None = None
    author: str | None = None
    comment: str | None = None
    empty_layer: bool | None = None


class ImageConfig(OciModel):
    """An image configuration blob."""

    created: str | None = None
    author: str | None = None
    architecture: str = "amd64"
    os: str = "linux"
    os_version: str | None = Field(None, alias="os.version")
    variant: str | None = None
    config: ContainerConfig = ContainerConfig()
    rootfs: RootFs = RootFs()
    history: list[History] | None = None

    @property
    def platform(self) -> Platform:
        """The platform this config says the image is for."""
        return Platform(
            architecture=self.architecture,
            os=self.os,
            variant=self.variant,
            os_version=self.os_version,
        )


class ImageLayout(OciModel):
    """The ``oci-layout`` file of an image layout directory."""

    image_layout_version: str = Field("1.0.0", alias="imageLayoutVersion")


M = TypeVar("M", bound=OciModel)


class MalformedDocument(PypackError):
    """A manifest, index or config that is not valid JSON of its kind."""


@dataclass(frozen=True)
class RawDocument:
    """A JSON document exactly as read or written, with its digest and media type."""

    raw: bytes
    media_type: str
    digest: str

    @classmethod
    def of(cls, model: OciModel, media_type: str) -> RawDocument:
        """Serialise a document pypack authors."""
        raw = model.to_json()
        return cls(raw, media_type, sha256_of(raw))

    @property
    def is_index(self) -> bool:
        """True for an OCI index or Docker manifest list."""
        return mediatypes.is_index(self.media_type)

    def manifest(self) -> Manifest:
        """Parse as an image manifest."""
        return _parse(Manifest, self.raw, self.digest)

    def index(self) -> Index:
        """Parse as an index."""
        return _parse(Index, self.raw, self.digest)

    def descriptor(self) -> Descriptor:
        """A descriptor pointing at this document."""
        return Descriptor(media_type=self.media_type, digest=self.digest, size=len(self.raw))


def parse_config(raw: bytes, digest: str, image: str | None = None) -> ImageConfig:
    """Parse an image config blob (of ``image``, named in the error if given)."""
    return _parse(ImageConfig, raw, f"{image}: config {digest}" if image else digest)


def _parse(model: type[M], raw: bytes, what: str) -> M:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        at = f" at {where}" if where else ""
        raise MalformedDocument(
            f"{what}: not a valid {model.__name__}{at}: {first['msg']}; "
            "the image is broken: build or push it again"
        ) from None


def media_type_of(raw: bytes) -> str | None:
    """The ``mediaType`` a document declares, if any (layouts and old registries may omit it)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    value = data.get("mediaType") if isinstance(data, dict) else None
    if isinstance(value, str):
        return value
    if isinstance(data, dict) and "manifests" in data:
        return mediatypes.OCI_INDEX
    if isinstance(data, dict) and "layers" in data:
        return mediatypes.OCI_MANIFEST
    return None
