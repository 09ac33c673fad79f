"""How much the spec models add on top of parsing TOML.

Prints, for each realistic file, the time to parse it with ``tomllib`` alone (the baseline, run
in the same process) and with the pydantic model, and their ratio. Run:
``.venv/bin/python bench/spec_load.py``.
"""

from __future__ import annotations

import timeit
import tomllib
from collections.abc import Callable
from functools import partial
from pathlib import Path

from pypack.spec.registry import KINDS

DATA = Path(__file__).parents[1] / "tests" / "data" / "spec" / "toml"
FILES = {
    "analyzed.toml": "analyzed",
    "builder.toml": "builder",
    "buildpack.component.toml": "buildpack",
    "launch.toml": "launch",
    "project.v02.toml": "project",
}


def _best_of(function: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(function, number=number, repeat=5)) / number


def main() -> None:
    """Print one line per file: baseline µs, model µs, ratio."""
    print(f"{'file':28} {'tomllib µs':>11} {'model µs':>9} {'ratio':>6}")
    for name, kind in FILES.items():
        path = DATA / name
        loader = KINDS[kind][1]
        baseline = _best_of(partial(_parse_only, path), 300)
        model = _best_of(partial(loader, path), 300)
        print(f"{name:28} {baseline * 1e6:11.1f} {model * 1e6:9.1f} {model / baseline:6.2f}")


def _parse_only(path: Path) -> object:
    return tomllib.loads(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
