"""The phases read what other tools write as the reference lifecycle reads it (issue 10 part 2).

Go's TOML decoder ignores unknown keys and leaves missing ones empty, and the reference checks
no buildpack ID characters, so: IDs with ``_`` (every fixture of the reference's acceptance
tests uses ``simple_buildpack``), unknown keys in group.toml, plan.toml, analyzed.toml,
``<layer>.toml`` and launch.toml, a plan entry without ``requires`` and a buildpack.toml key
no version knows all pass, and a rewritten file keeps the keys it did not know.
"""

from __future__ import annotations

import tomllib

from tests.conformance.harness import Workspace

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
