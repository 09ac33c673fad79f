"""Whole-build reuse: a build whose every input is as it was when its image was made is
skipped, and reports that image.

The key covers what decides the image: pypack's version, the options that change the output,
the build environment, project.toml and config.toml as bytes, the app tree as the build would
copy it (content digests through a stat index), the app's git state (the project-metadata
label), the content of buildpacks, volumes and the CA bundle given by path, the builder's and
the run image's digests and, for a default builder, the bundled files it is made from. A record
of the key, the image's digest and ID and the report is written next to the pypack home's
caches after a build; the next build with the same target compares keys and checks that the
image is still where it went. This module imports the standard library and pypack's light
modules only: a build with nothing to do must not pay for the image and registry code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pypack import __version__
from pypack.errors import PypackError
from pypack.fsutil import write_atomically
from pypack.oci.reference import LAYOUT_PREFIX, parse_layout_reference, parse_reference
from pypack.pack.app_filter import AppFilter
from pypack.pack.app_source import is_app_archive, walk_app
from pypack.pack.home import Home
from pypack.pack.tree_digest import StatIndex, file_digest, path_digest, tree_digest

REUSE_LABEL = "io.pypack.reuse"
"""A builder label: ``false`` opts the builder's builds out of reuse (buildpacks that fetch
"latest" of something at build time)."""

_RECORD_VERSION = 1
_GIT_STATE = ("HEAD", "packed-refs", "config", "refs")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _bytes_digest(path: Path | None) -> str | None:
    return file_digest(path) if path is not None and path.is_file() else None


def layout_digest(layout: Path, name: str) -> str | None:
    """The manifest digest that an OCI layout's ``index.json`` names ``name``, if any."""
    try:
        index = json.loads((layout / "index.json").read_bytes())
    except (OSError, ValueError):
        return None
    for descriptor in index.get("manifests") or []:
        annotations = descriptor.get("annotations") or {}
        if annotations.get("org.opencontainers.image.ref.name") == name:
            return str(descriptor.get("digest"))
    return None


@dataclass
class ReuseRecord:
    """What the last build of a target left: its key and what it produced."""

    key: str
    digest: str
    image_id: str
    builder: str
    run_image: str
    project_digest: str | None
    include: list[str] | None
    exclude: list[str] | None
    report: str | None = None


@dataclass
class ReuseInputs:
    """A build's inputs as the build command has them before anything heavy is imported."""

    image: str
    app: Path
    target: str
    """``local``, ``layout``, ``publish`` or ``daemon``."""
    options: dict[str, Any]
    """The flags that change the image (JSON-able), as given."""
    env: dict[str, str]
    project_file: Path | None
    content_paths: list[Path] = field(default_factory=list)
    """Buildpacks, volume sources and the CA bundle given by path: their content counts."""
    tags: list[str] = field(default_factory=list)
    pull_policy: str = "if-not-present"
    insecure: tuple[str, ...] = ()


class Reuse:
    """The reuse check and record of one build target."""

    def __init__(self, home: Home, inputs: ReuseInputs) -> None:
        self.home = home
        self.inputs = inputs
        name = f"{inputs.target}:{inputs.image}"
        stem = self.home.root / "reuse" / _sha(name.encode())[:24]
        self.record_path = stem.with_suffix(".json")
        self.index = StatIndex(stem.with_suffix(".index.json"))
        self._trees: dict[tuple[Any, ...], str] = {}
        self.project_digest = _bytes_digest(inputs.project_file)
        self._pending: dict[str, Any] | None = None
        self._registry: Any = None

    def load_record(self) -> ReuseRecord | None:
        """The target's record, if one was written and is readable."""
        try:
            document = json.loads(self.record_path.read_text())
            if document.pop("version", None) != _RECORD_VERSION:
                return None
            return ReuseRecord(**document)
        except (OSError, ValueError, TypeError):
            return None

    def _app_digest(self, include: list[str] | None, exclude: list[str] | None) -> str:
        cache_key = (tuple(include) if include is not None else None, tuple(exclude or ()))
        if cache_key not in self._trees:
            app = self.inputs.app
            if is_app_archive(app):
                self._trees[cache_key] = self.index.digest(app, app.stat())
            else:
                app_filter = AppFilter.for_app(app, include, exclude)
                self._trees[cache_key] = tree_digest(walk_app(app, app_filter), self.index)
        return self._trees[cache_key]

    def _git_digest(self) -> str | None:
        git = self.inputs.app / ".git"
        if not git.is_dir():
            return None
        parts = {n: path_digest(git / n, self.index) for n in _GIT_STATE if (git / n).exists()}
        return _sha(json.dumps(parts, sort_keys=True).encode())

    def source_parts(self, include: list[str] | None, exclude: list[str] | None) -> dict[str, Any]:
        """The parts of the key that a build reads before it runs: flags, env, files, the app."""
        inputs = self.inputs
        return {
            "pypack": __version__,
            "options": inputs.options,
            "env": _sha(json.dumps(inputs.env, sort_keys=True).encode()),
            "project": self.project_digest,
            "config": _bytes_digest(self.home.config),
            "content": {str(p): path_digest(p, self.index) for p in inputs.content_paths},
            "app": self._app_digest(include, exclude),
            "git": self._git_digest(),
        }

    def image_parts(self, builder: str, run_image: str) -> dict[str, Any]:
        """The parts that name images: the builder's and the run image's digests now, and the
        bundled files of a default builder."""
        from pypack.pack.default_builder import DEFAULT_BUILDERS, bundle_key

        bundled = [b for b in DEFAULT_BUILDERS if b.name == builder]
        return {
            "builder": [builder, self.current_digest(builder)],
            "run_image": [run_image, self.current_digest(run_image)],
            "bundle": bundle_key(bundled[0]) if bundled else None,
        }

    def current_digest(self, name: str) -> str | None:
        """Where a build would read ``name`` from (as the pull policy says), its digest."""
        if name.startswith(LAYOUT_PREFIX):
            ref = parse_layout_reference(name)
            return layout_digest(ref.path, ref.tag)
        policy = self.inputs.pull_policy
        reference = parse_reference(name)
        if policy != "always" and reference.digest is None:
            local = layout_digest(self.home.root / "images", str(reference))
            if local is not None or policy == "never":
                return local
        return None if policy == "never" else self._registry_digest(name)

    def _registry_digest(self, name: str) -> str | None:
        from pypack.oci.auth import Keychain
        from pypack.oci.stores import RegistryImageStore

        if self._registry is None:
            insecure = self.inputs.insecure
            self._registry = RegistryImageStore(Keychain(), insecure_registries=insecure)
        reference = parse_reference(name)
        client = self._registry.client(reference.registry)
        digest: str | None = client.head_manifest(reference.repository, reference.identifier)
        return digest

    def target_has(self, record: ReuseRecord) -> bool:
        """True when the image (and each tag) is still where the last build put it."""
        inputs = self.inputs
        names = [inputs.image, *inputs.tags]
        if inputs.target == "layout":
            ref = parse_layout_reference(inputs.image)
            return layout_digest(ref.path, ref.tag) == record.digest
        if inputs.target == "daemon":
            from pypack.oci.daemon import DaemonImageStore

            store = DaemonImageStore()
            return all((store.inspect(n) or {}).get("Id") == record.image_id for n in names)
        if inputs.target == "publish":
            return all(self._registry_digest(n) == record.digest for n in names)
        images = self.home.root / "images"
        return all(layout_digest(images, str(parse_reference(n))) == record.digest for n in names)

    def check(self, builder: str | None, report_wanted: bool) -> ReuseRecord | None:
        """The record when nothing changed since it was written and its image is still there;
        else None. ``builder`` is the builder named by a flag, project.toml or config (None:
        the record's, which a default choice over the same app made)."""
        record = self.load_record()
        try:
            if record is None or record.project_digest != self.project_digest:
                return None
            if report_wanted and record.report is None:
                return None
            if builder is not None and builder != record.builder:
                return None
            parts = self.source_parts(record.include, record.exclude)
            parts.update(self.image_parts(record.builder, record.run_image))
            if _sha(json.dumps(parts, sort_keys=True).encode()) != record.key:
                return None
            return record if self.target_has(record) else None
        except (OSError, ValueError, PypackError):  # a check that cannot decide: build
            return None
        finally:
            self.index.save()

    def begin(self, include: list[str] | None, exclude: list[str] | None) -> None:
        """Before a real build: take the source parts of the key as the build will see them."""
        self._pending = {
            "parts": self.source_parts(include, exclude),
            "include": include,
            "exclude": exclude,
        }
        self.index.save()

    def finish(
        self,
        digest: str,
        image_id: str,
        builder: str,
        run_image: str | None,
        *,
        opted_out: bool,
        report: Path | None,
    ) -> None:
        """After a build that succeeded: write the record (or remove it, when the builder opts
        out of reuse with its ``io.pypack.reuse=false`` label)."""
        if self._pending is None or run_image is None:
            return
        if opted_out:
            self.record_path.unlink(missing_ok=True)
            return
        parts = dict(self._pending["parts"])
        parts.update(self.image_parts(builder, run_image))
        record = ReuseRecord(
            key=_sha(json.dumps(parts, sort_keys=True).encode()),
            digest=digest,
            image_id=image_id,
            builder=builder,
            run_image=run_image,
            project_digest=self.project_digest,
            include=self._pending["include"],
            exclude=self._pending["exclude"],
            report=report.read_text() if report is not None and report.is_file() else None,
        )
        document = json.dumps({"version": _RECORD_VERSION, **asdict(record)}, indent=1)
        write_atomically(self.record_path, document.encode())
