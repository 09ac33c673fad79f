"""The Dockerfiles image extensions generate: read, checked and classified.

An extension's ``run.Dockerfile`` is one stage: ``FROM ${base_image}`` (the run image as it is)
or ``FROM <image>`` (it switches the run image), optionally led by ``ARG`` lines; any instruction
after ``FROM`` *extends* the image. A ``build.Dockerfile`` starts with ``ARG base_image`` and
``FROM ${base_image}``; what follows extends the build image. The checks and their messages are
the reference lifecycle's (buildpack/dockerfile.go); reading is a small subset of Docker's
syntax (comments, ``\\`` continuations, ``FROM`` flags and ``AS``), enough for these files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

BASE_IMAGE_ARG = "base_image"
BASE_IMAGE_REF = "${base_image}"


class DockerfileError(ValueError):
    """A Dockerfile that breaks the rules for its kind; the message is the reference's."""


@dataclass(frozen=True)
class Instruction:
    """One instruction: its name (upper case), its arguments and the line it starts on."""

    name: str
    args: str
    line: int


@dataclass
class Stage:
    """A ``FROM`` and the instructions after it."""

    base: str
    commands: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    """A Dockerfile an extension generated, as the generator records it."""

    extension_id: str
    kind: str
    """``run`` or ``build``."""
    path: Path
    with_base: str = ""
    """The image a run.Dockerfile switches to (empty: it keeps the run image)."""
    extend: bool = False
    """True when it has instructions that change the image, not only its base."""
    first_change: Instruction | None = None
    """The first of those instructions."""
    ignore: bool = False
    """A later run.Dockerfile switches the run image, so this one has no effect."""


def parse(text: str) -> tuple[list[Instruction], list[Stage]]:
    """The meta ``ARG`` instructions before the first ``FROM``, and the stages."""
    meta: list[Instruction] = []
    stages: list[Stage] = []
    for instruction in _instructions(text):
        if instruction.name == "FROM":
            stages.append(Stage(_from_image(instruction)))
        elif stages:
            stages[-1].commands.append(instruction)
        elif instruction.name == "ARG":
            meta.append(instruction)
        else:
            raise DockerfileError(
                f"no build stage in current context (line {instruction.line}: {instruction.name})"
            )
    return meta, stages


def _instructions(text: str) -> list[Instruction]:
    found: list[Instruction] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not pending:
            start = number
        continued = line.endswith("\\")
        pending += line[:-1] + " " if continued else line
        if continued:
            continue
        name, _, args = pending.partition(" ")
        found.append(Instruction(name.upper(), args.strip(), start))
        pending = ""
    if pending:
        name, _, args = pending.partition(" ")
        found.append(Instruction(name.upper(), args.strip(), start))
    return found


def _from_image(instruction: Instruction) -> str:
    words = [w for w in instruction.args.split() if not w.startswith("--")]
    if not words:
        raise DockerfileError(f"FROM requires an image (line {instruction.line})")
    return words[0]


def _arg_names(meta: list[Instruction]) -> list[str]:
    return [word.partition("=")[0] for arg in meta for word in arg.args.split()]


def classify(extension_id: str, kind: str, path: Path) -> Dockerfile:
    """Read ``path`` (an extension's ``<kind>.Dockerfile``) and record what it does; a file
    that breaks the rules for its kind is a :class:`DockerfileError`."""
    meta, stages = parse(path.read_text(encoding="utf-8"))
    name = f"{kind}.Dockerfile"
    if len(stages) > 1:
        raise DockerfileError(f"{name} is not permitted to use multistage build")
    if kind == "build" and _arg_names(meta) != [BASE_IMAGE_ARG]:
        raise DockerfileError("build.Dockerfile did not start with required ARG command")
    if not stages:
        raise DockerfileError(f"{name} should have at least one stage")
    stage = stages[0]
    if kind == "build" and stage.base != BASE_IMAGE_REF:
        raise DockerfileError(
            "build.Dockerfile did not contain required FROM ${base_image} command"
        )
    return Dockerfile(
        extension_id=extension_id,
        kind=kind,
        path=path,
        with_base=stage.base if kind == "run" and stage.base != BASE_IMAGE_REF else "",
        extend=bool(stage.commands),
        first_change=stage.commands[0] if stage.commands else None,
    )
