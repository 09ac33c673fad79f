"""The reference lifecycle's rebaser acceptance tests (acceptance/rebaser_test.go), translated.

The reference's rebaser image is a plain base image with the lifecycle; its one case names an
app image on ``host.docker.internal``, declared insecure, and checks that the rebaser asked for
it over plain http (the request fails: nothing serves there, and here the name does not even
resolve; the error names the URL either way). It runs as the CNB user 1000:1000, at each
Platform API from 0.12 (the reference skips older ones), since the reference reads
``CNB_INSECURE_REGISTRIES`` there although ``-insecure-registry`` is a flag only from 0.13.

Translated: 1 of 1 case.
"""

from __future__ import annotations

import pytest

from pypack.spec.api import SUPPORTED_PLATFORM_APIS
from tests.conformance.harness import Workspace


@pytest.mark.parametrize("api", [str(v) for v in SUPPORTED_PLATFORM_APIS if v.at_least("0.12")])
def test_insecure_registry_is_asked_over_http(ws: Workspace, api: str) -> None:
    # acceptance/rebaser_test.go:42 "should do an http request"
    insecure = "host.docker.internal"
    result = ws.run(
        "rebaser",
        f"{insecure}/bar",
        env={"CNB_PLATFORM_API": api, "CNB_INSECURE_REGISTRIES": insecure},
    )
    assert result.code != 0
    assert f"http://{insecure}" in result.text
