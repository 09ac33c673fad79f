"""The conformance workspace, shared with the acceptance translations, and which Platform API
variants run by default.

The reference runs most acceptance cases at every Platform API it supports; translated, that
is over 400 phase runs. By default each case runs at the oldest and the newest API it is
parametrized with (where the per-version behaviour differs most: before and after 0.12); the
versions between are long variants (marker ``slow``, ``PYPACK_SLOW=1`` runs them).
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from pypack.spec.api import ApiVersion
from tests.conformance.harness import ws

__all__ = ["ws"]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the in-between Platform API variants of each acceptance case ``slow``."""
    cases: dict[tuple[str, str, str], list[tuple[ApiVersion, pytest.Item]]] = defaultdict(list)
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "api" not in callspec.params or "acceptance" not in item.nodeid:
            continue
        others = repr(sorted((k, repr(v)) for k, v in callspec.params.items() if k != "api"))
        key = (item.nodeid.split("::")[0], getattr(item, "originalname", item.name), others)
        cases[key].append((ApiVersion.parse(str(callspec.params["api"])), item))
    for variants in cases.values():
        ordered = sorted(variants, key=lambda pair: (pair[0].major, pair[0].minor))
        for _, item in ordered[1:-1]:
            item.add_marker(pytest.mark.slow)
