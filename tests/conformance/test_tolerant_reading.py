"""The phases read what other tools write as the reference lifecycle reads it (issue 10 part 2).

Go's TOML decoder ignores unknown keys and leaves missing ones empty, and the reference checks
no buildpack ID characters, so: IDs with ``_`` (every fixture of the reference's acceptance
tests uses ``simple_buildpack``), unknown keys in group.toml, plan.toml, analyzed.toml,
``<layer>.toml`` and launch.toml, a plan entry without ``requires`` and a buildpack.toml key
no version knows all pass, and a rewritten file keeps the keys it did not know.
"""

from __future__ import annotations

import tomllib

import pytest

from pypack.oci.image import Image
from tests.conformance.harness import Workspace
from tests.conformance.test_export import push_run_image

BUILD = """\
mkdir -p "$1/tools/bin"
printf '[types]\\nbuild = true\\nfuture = true\\n[metadata]\\nk = "v"\\n' > "$1/tools.toml"
printf 'next-version = true\\n' > "$1/launch.toml"
printf '[[processes]]\\ntype = "web"\\ncommand = ["x"]\\nnew-key = 1\\n' >> "$1/launch.toml"
printf '[[labels]]\\nkey = "only-key"\\n' >> "$1/launch.toml"
"""


def test_underscore_ids_and_unknown_keys_from_other_tools(ws: Workspace) -> None:
    ws.buildpack(
        "simple_buildpack",
        detect='printf \'[[provides]]\\nname = "x"\\n[[requires]]\\nname = "x"\\n\' > "$2"',
        build=BUILD,
        buildpack_keys='future-key = "x"',
    )
    ws.order([[("simple_buildpack", "1.0.0", False)]])
    detected = ws.run("detector")
    assert detected.code == 0, detected.text
    assert ws.group() == ["simple_buildpack@1.0.0"]
    # A newer platform (or lifecycle) adds keys; a plan entry comes without requires.
    group = (ws.layers / "group.toml").read_text()
    (ws.layers / "group.toml").write_text(group.replace("[[group]]", "[[group]]\nfuture = 1"))
    (ws.layers / "plan.toml").write_text(
        (ws.layers / "plan.toml").read_text()
        + '[[entries]]\nfuture = 2\n[[entries.providers]]\nid = "simple_buildpack"\n'
        'version = "1.0.0"\n'
    )
    (ws.layers / "analyzed.toml").write_text('[run-image]\nreference = ""\nfuture = 3\n')
    built = ws.run("builder")
    assert built.code == 0, built.text
    metadata = tomllib.loads((ws.layers / "config" / "metadata.toml").read_text())
    assert [p["type"] for p in metadata["processes"]] == ["web"]
    assert metadata["labels"] == [{"key": "only-key", "value": ""}]
    assert (ws.layers / "simple_buildpack" / "tools" / "bin").is_dir()


@pytest.mark.integration
def test_a_process_type_the_exporter_cannot_write_fails_the_export(
    ws: Workspace, registry: str, busybox_base: Image
) -> None:
    """lc: the builder takes any type; the exporter's process-types layer refuses ``/><:|&\\``
    ("invalid process type ...: type may not contain characters", exit 62)."""
    run = push_run_image(registry, busybox_base, "bad-type:1")
    ws.buildpack(
        "simple_buildpack",
        build='printf \'[[processes]]\\ntype = "web/app"\\ncommand = ["x"]\\n\' > "$1/launch.toml"',
    )
    ws.order([[("simple_buildpack", "1.0.0", False)]])
    app = f"{registry}/conformance/bad-type-app:1"
    for phase, flags in (("analyzer", ["-run-image", run, app]), ("detector", []), ("builder", [])):
        result = ws.run(phase, *flags)
        assert result.code == 0, f"{phase}: {result.text}"
    exported = ws.run("exporter", app)
    assert exported.code == 62, exported.text
    assert "invalid process type 'web/app': type may not contain characters '/><:|&\\'" in (
        exported.err
    )
