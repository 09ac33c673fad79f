"""The base of every CNB model: TOML and JSON-label I/O, key spelling, and one-line errors.

CNB files spell keys in kebab-case (``working-dir``); several image labels spell the same
structure in camelCase (``runImage``, ``topLayer``). A model names its fields in snake_case,
gets kebab-case aliases for TOML, and lists the few keys its JSON label spells differently in
``json_keys``. ``key_synonyms`` lists spellings that are accepted on read and never written
(``variant`` for ``arch-variant``).

All TOML goes through :mod:`tomllib` and :mod:`tomli_w`; all label JSON through :mod:`json`.
Malformed input never escapes as a pydantic dump: it becomes one :class:`SpecError` line.

Unknown keys are read as the reference lifecycle reads them: its Go TOML decoder ignores them,
so a file written by another tool (analyzed.toml, group.toml, a ``<layer>.toml``, a label) with
a key from a newer version is accepted, and the key is kept when this model writes the file
back. :func:`unknown_keys` lists them, for warnings on the files a person writes. A document
that pack refuses unknown keys in (builder.toml, package.toml) sets ``refuse_unknown_keys``.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from pypack.errors import SpecError
from pypack.fsutil import write_atomically

FreeForm = dict[str, Any]
"""A free-form table such as ``[metadata]``: kept as read, written back as is."""


def kebab(name: str) -> str:
    """``working_dir`` → ``working-dir``: the spelling of keys in CNB TOML files."""
    return name.replace("_", "-")


class SpecModel(BaseModel):
    """A table of a CNB file or label. Unknown keys are kept (see the module docstring)."""

    model_config = ConfigDict(
        alias_generator=kebab,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
        # No coercion: clear-env = "yes" or manifest-size = "1487" is an error, not a guess.
        strict=True,
        # Schemas are built on first use: a command pays only for the files it reads.
        defer_build=True,
    )

    key_synonyms: ClassVar[Mapping[str, str]] = {}
    """Other accepted spelling → the key this model writes. When both are set, the key this
    model writes wins and the other stays an unknown key, as a decoder that knows only one
    spelling reads them (``topLayer`` in analyzed.toml, ``variant`` for the lifecycle)."""

    json_keys: ClassVar[Mapping[str, str]] = {}
    """Key this model writes in TOML → the key its JSON label spells instead."""

    @model_validator(mode="before")
    @classmethod
    def _accept_other_spellings(cls, data: Any) -> Any:
        renames = {**cls.key_synonyms, **{v: k for k, v in cls.json_keys.items()}}
        if not isinstance(data, dict) or not renames or not renames.keys() & data.keys():
            return data
        result = dict(data)
        for other, canonical in renames.items():
            if other not in result or canonical in result:
                continue
            result[canonical] = result.pop(other)
        return result

    @model_serializer(mode="wrap")
    def _spell_keys(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if self.json_keys and isinstance(data, dict) and _wants_json_keys(info):
            return {self.json_keys.get(key, key): value for key, value in data.items()}
        return data


def _wants_json_keys(info: SerializationInfo) -> bool:
    context = info.context
    return isinstance(context, dict) and bool(context.get("json_keys"))


def _to_data(model: BaseModel, *, json_keys: bool) -> dict[str, Any]:
    # TOML keeps native values (a datetime in [metadata] stays a TOML datetime); JSON labels
    # need JSON values.
    data: dict[str, Any] = model.model_dump(
        mode="json" if json_keys else "python",
        by_alias=True,
        exclude_none=True,
        context={"json_keys": json_keys},
    )
    return data


def _validate(
    cls: type[BaseModel],
    data: Any,
    source: str,
    context: Mapping[str, Any] | None,
    as_read: Any = None,
    *,
    refuse_unknown_keys: bool = False,
) -> Any:
    """Validate ``data``; errors name keys as they are in ``as_read`` (default: ``data``)."""
    try:
        return cls.model_validate(
            data,
            context=dict(context or {}),
            extra="forbid" if refuse_unknown_keys else None,
        )
    except ValidationError as exc:
        raise spec_error_from(exc, data if as_read is None else as_read, source) from None


class Document(SpecModel):
    """A whole CNB TOML file. ``file_name`` is how errors name it when no path is known."""

    file_name: ClassVar[str] = "file.toml"
    refuse_unknown_keys: ClassVar[bool] = False
    """True where pack refuses an unknown key ("unknown configuration element"), so a
    misspelt key is an error rather than a warning."""

    @classmethod
    def from_data(
        cls,
        data: Mapping[str, Any],
        source: str | None = None,
        *,
        context: Mapping[str, Any] | None = None,
    ) -> Self:
        """Validate already-parsed TOML data; errors name ``source``."""
        name = source or cls.file_name
        model: Self = _validate(
            cls, data, name, context, refuse_unknown_keys=cls.refuse_unknown_keys
        )
        return model

    @classmethod
    def loads(
        cls, text: str, source: str | None = None, *, context: Mapping[str, Any] | None = None
    ) -> Self:
        """Parse TOML text."""
        name = source or cls.file_name
        return cls.from_data(parse_toml(text, name), name, context=context)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, context: Mapping[str, Any] | None = None
    ) -> Self:
        """Read a TOML file; a missing or unreadable file is a :class:`SpecError` too."""
        return cls.from_data(read_toml_file(path), str(path), context=context)

    def to_data(self) -> dict[str, Any]:
        """The TOML tables of this document as plain Python data."""
        return _to_data(self, json_keys=False)

    def dumps(self) -> str:
        """The document as TOML text."""
        return tomli_w.dumps(self.to_data())

    def dump(self, path: str | os.PathLike[str]) -> None:
        """Write the document atomically: readers see the old file or the new one, never half."""
        write_atomically(Path(path), self.dumps().encode("utf-8"))


class Label(SpecModel):
    """A JSON image label; ``label_name`` is its key, e.g. ``io.buildpacks.build.metadata``."""

    label_name: ClassVar[str] = ""
    root_field: ClassVar[str | None] = None
    """For a label whose JSON is an array or a map rather than an object: the field holding it."""

    @classmethod
    def from_label(cls, text: str | bytes, *, context: Mapping[str, Any] | None = None) -> Self:
        """Parse the label's JSON value."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SpecError(cls.label_name, "", f"invalid JSON: {exc}") from None
        wrapped = {cls.root_field: data} if cls.root_field is not None else data
        model: Self = _validate(cls, wrapped, cls.label_name, context, as_read=data)
        return model

    def to_data(self) -> Any:
        """The label's JSON value as plain Python data, with the label's key spelling."""
        data = _to_data(self, json_keys=True)
        return data[self.root_field] if self.root_field is not None else data

    def to_label(self) -> str:
        """The label's value: compact JSON with stable key order."""
        return json.dumps(self.to_data(), separators=(",", ":"), ensure_ascii=False)


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error becomes a :class:`SpecError` naming ``source``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(source, "", f"invalid TOML: {exc}") from None


def read_toml_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and parse a TOML file; any failure is a :class:`SpecError` naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), "", "file not found") from None
    except UnicodeDecodeError:
        raise SpecError(str(path), "", "not UTF-8 text") from None
    except OSError as exc:
        raise SpecError(str(path), "", f"cannot read: {exc.strerror}") from None
    return parse_toml(text, str(path))


# --- turning pydantic errors into one line -------------------------------------------------

_PROBLEMS = {
    "missing": "required",
    "extra_forbidden": "unknown key; check its spelling against the spec",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "list_type": "must be an array",
    "tuple_type": "must be an array",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
}


class KeyedValueError(ValueError):
    """A validator's complaint about a key below the model it validates.

    ``raise KeyedValueError("build.image", "required")`` from a model validator names
    ``<model path>.build.image`` in the one-line error.
    """

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key


def spec_error_from(exc: ValidationError, data: Any, source: str) -> SpecError:
    """The first problem of ``exc`` as one ``<source>: <key>: <problem>`` line."""
    errors = exc.errors(include_url=False)
    # A misspelt key usually also leaves a required key missing; the spelling is the news.
    first = min(errors, key=lambda error: error["type"] != "extra_forbidden")
    key = _key_path(first["loc"], data, missing=first["type"] == "missing")
    problem = _problem(first)
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, KeyedValueError):
        key = f"{key}.{cause.key}" if key else cause.key
    if len(errors) > 1:
        problem += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return SpecError(source, key, problem)


def _problem(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind in _PROBLEMS:
        return _PROBLEMS[kind]
    message = str(error["msg"])
    return message[:1].lower() + message[1:]


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key_path(loc: Sequence[str | int], data: Any, *, missing: bool) -> str:
    """Join the parts of ``loc`` that name keys or indexes in ``data``.

    pydantic adds the names of union members and validators to ``loc``; following the input data
    tells those apart from real keys. A missing key is the last part and is kept.
    """
    parts: list[str] = []
    node = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if (
            isinstance(node, dict)
            and isinstance(part, str)
            and (part in node or (last and missing))
        ):
            name = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
            parts.append(name if not parts else f".{name}")
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            parts.append(f"[{part}]")
            node = node[part]
    return "".join(parts)


def unknown_keys(model: BaseModel, prefix: str = "") -> list[str]:
    """Key paths that ``model`` (and the models in it) kept without knowing them.

    Models that are open by design (``extensible``) are not searched: their extra keys are data.
    """
    if getattr(model, "extensible", False):
        found: list[str] = []
    else:
        found = [f"{prefix}{key}" for key in (model.model_extra or {})]
    for name, info in type(model).model_fields.items():
        key = f"{prefix}{info.alias or name}"
        found.extend(_unknown_in(getattr(model, name), key))
    return found


def _unknown_in(value: Any, key: str) -> list[str]:
    if isinstance(value, BaseModel):
        return unknown_keys(value, f"{key}.")
    if isinstance(value, list):
        return [path for i, item in enumerate(value) for path in _unknown_in(item, f"{key}[{i}]")]
    if isinstance(value, dict):
        return [path for k, item in value.items() for path in _unknown_in(item, f"{key}.{k}")]
    return []
