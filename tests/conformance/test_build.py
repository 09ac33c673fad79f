"""Conformance cases 16-23 (build), named by their number in the checklist."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from tests.conformance.harness import Workspace


def group(ws: Workspace, *buildpacks: tuple[str, str]) -> None:
    """Write group.toml as the detector would, and an empty plan."""
    text = "".join(
        f'[[group]]\nid = "{i}"\nversion = "1.0.0"\napi = "{api}"\n' for i, api in buildpacks
    )
    (ws.layers / "group.toml").write_text(text)
    (ws.layers / "plan.toml").write_text("")


def copy_plan(ws: Workspace, name: str) -> str:
    return f'cp "$3" "{ws.root}/home/{name}.plan"'


def plan_names(ws: Workspace, name: str) -> list[str]:
    path = ws.root / "home" / f"{name}.plan"
    return [e["name"] for e in tomllib.loads(path.read_text()).get("entries", [])]


def provides(*names: str) -> str:
    return 'cat >> "$2" <<EOF\n' + "".join(f'[[provides]]\nname = "{n}"\n' for n in names) + "EOF"


def test_case_16_buildpack_plan_and_unmet(ws: Workspace) -> None:
    requires_x = 'cat >> "$2" <<EOF\n[[requires]]\nname = "x"\n[[requires]]\nname = "y"\nEOF'
    ws.buildpack(
        "a",
        detect=provides("x", "y"),
        build=copy_plan(ws, "a") + '\nprintf \'[[unmet]]\\nname = "x"\\n\' > "$1/build.toml"',
    )
    ws.buildpack("b", detect=provides("x"), build=copy_plan(ws, "b"))
    ws.buildpack("c", detect=requires_x, build=copy_plan(ws, "c"))
    ws.order([[("a", "1.0.0", False), ("b", "1.0.0", False), ("c", "1.0.0", False)]])
    assert ws.run("detector").code == 0
    result = ws.run("builder")
    assert result.code == 0, result.text
    assert plan_names(ws, "a") == ["x", "y"]
    assert plan_names(ws, "b") == ["x"]  # a left x unmet; y was met and is gone
    assert plan_names(ws, "c") == []
    ws.buildpack(
        "a",
        detect=provides("x", "y"),
        build='printf \'[[unmet]]\\nname = "zzz"\\n\' > "$1/build.toml"',
    )
    failed = ws.run("builder")
    assert failed.code == 52
    assert "unmet.name 'zzz' must match a requested dependency" in failed.err


def test_case_17_failing_build_stops_the_group(ws: Workspace) -> None:
    marker = ws.root / "home" / "b-ran"
    ws.buildpack("a", build="echo building a\nexit 1")
    ws.buildpack("b", build=f'touch "{marker}"')
    group(ws, ("a", "0.10"), ("b", "0.10"))
    result = ws.run("builder")
    assert result.code == 51, result.text
    assert "building a" in result.out
    assert not marker.exists()
    assert not (ws.layers / "config" / "metadata.toml").exists()


def make_layer(
    name: str, types: str, dirs: tuple[str, ...] = ("bin", "lib", "include", "pkgconfig")
) -> str:
    lines = [f'mkdir -p "$1/{name}/{d}"' for d in dirs]
    lines.append(f"printf '[types]\\n{types}\\n' > \"$1/{name}.toml\"")
    return "\n".join(lines)


def env_dump(ws: Workspace, name: str) -> str:
    return f'env > "{ws.root}/home/{name}.env"'


def read_env(ws: Workspace, name: str) -> dict[str, str]:
    values = {}
    text = (ws.root / "home" / f"{name}.env").read_text()
    for line in text.splitlines():
        key, _, value = line.partition("=")
        values[key] = value
    return values


def test_case_18_build_layers_reach_later_buildpacks(ws: Workspace) -> None:
    ws.buildpack("a", build="\n".join((
        env_dump(ws, "a"),
        make_layer("l1", "build = true"),
        make_layer("only-launch", "launch = true", ("bin",)),
    )))  # fmt: skip
    ws.buildpack("b", build=env_dump(ws, "b"))
    group(ws, ("a", "0.10"), ("b", "0.10"))
    assert ws.run("builder").code == 0
    layer = ws.layers / "a" / "l1"
    a_env, b_env = read_env(ws, "a"), read_env(ws, "b")
    assert b_env["PATH"].split(":")[0] == f"{layer}/bin"
    assert b_env["LD_LIBRARY_PATH"] == f"{layer}/lib"
    assert b_env["LIBRARY_PATH"] == f"{layer}/lib"
    assert b_env["CPATH"] == f"{layer}/include"
    assert b_env["PKG_CONFIG_PATH"] == f"{layer}/pkgconfig"
    assert str(layer) not in a_env["PATH"]
    assert "only-launch" not in b_env["PATH"]


def env_file(layer: str, directory: str, name: str, value: str) -> str:
    return (
        f'mkdir -p "$1/{layer}/{directory}" && printf \'{value}\' > "$1/{layer}/{directory}/{name}"'
    )


def test_case_19_env_file_suffix_matrix(ws: Workspace) -> None:
    build_layer = "printf '[types]\\nbuild = true\\n' > \"$1/{0}.toml\""
    ws.buildpack("a", build="\n".join((
        "mkdir -p \"$1/l1\" \"$1/l2\"",
        build_layer.format("l1"), build_layer.format("l2"),
        env_file("l1", "env", "OVER", "a1"),
        env_file("l2", "env", "OVER", "a2"),
        env_file("l1", "env", "DEF.default", "first"),
        env_file("l2", "env", "DEF.default", "second"),
        env_file("l1", "env", "APP.append", "x"),
        env_file("l1", "env", "APP.delim", ":"),
        env_file("l2", "env.build", "APP.append", "y"),
        env_file("l1", "env", "PRE.prepend", "p1"),
        env_file("l2", "env", "PRE.prepend", "p2"),
        env_file("l1", "env", "NL", "v\\n"),
    )))  # fmt: skip
    ws.buildpack("b", build="\n".join((
        env_dump(ws, "b"),
        'mkdir -p "$1/m"', build_layer.format("m"),
        env_file("m", "env", "OVER", "b1"),
        env_file("m", "env", "APP.append", "z"),
        env_file("m", "env", "APP.delim", "|"),
    )))  # fmt: skip
    ws.buildpack("c", build=env_dump(ws, "c"))
    group(ws, ("a", "0.10"), ("b", "0.10"), ("c", "0.10"))
    assert ws.run("builder").code == 0
    b_env = read_env(ws, "b")
    assert b_env["OVER"] == "a2"  # the later layer wins
    assert b_env["DEF"] == "first"  # default: the first one wins
    assert b_env["APP"] == "x" + "y"  # env.build/ of l2 has no delim of its own: concatenation
    assert b_env["PRE"] == "p2p1"  # prepend without a delim: plain concatenation
    c_env = read_env(ws, "c")
    assert c_env["OVER"] == "b1"
    assert c_env["APP"] == "xy|z"
    raw = (ws.root / "home" / "c.env").read_text()
    assert "NL=v\n\n" in raw  # the file's newline is kept in the value


def test_case_20_ignored_layers(ws: Workspace) -> None:
    ws.buildpack("a", build="\n".join((
        'mkdir -p "$1/nothing/bin"',
        'printf \'[types]\\n\' > "$1/nothing.toml"',
        'printf \'[[processes]]\\ntype = "web"\\ncommand = ["x"]\\n\' > "$1/launch.toml"',
        'printf \'[metadata]\\nkept = true\\n\' > "$1/store.toml"',
        'printf \'\' > "$1/build.toml"',
    )))  # fmt: skip
    ws.buildpack("b", build=env_dump(ws, "b"))
    group(ws, ("a", "0.10"), ("b", "0.10"))
    result = ws.run("builder")
    assert result.code == 0, result.text
    assert (ws.layers / "a" / "nothing.ignore" / "bin").is_dir()
    assert not (ws.layers / "a" / "nothing").exists()
    assert "nothing" not in read_env(ws, "b")["PATH"]
    for kept in ("launch.toml", "store.toml", "build.toml"):
        assert (ws.layers / "a" / kept).is_file()
        assert not (ws.layers / "a" / kept.replace(".toml", ".ignore")).exists()


def launch(*processes: str) -> str:
    return "cat > \"$1/launch.toml\" <<'EOF'\n" + "\n".join(processes) + "\nEOF"


def test_case_21_processes_and_defaults(ws: Workspace) -> None:
    ws.buildpack("a", build=launch(
        '[[processes]]\ntype = "web"\ncommand = ["a-web"]\ndefault = true',
        '[[processes]]\ntype = "worker"\ncommand = ["a-worker"]',
    ))  # fmt: skip
    ws.buildpack("b", build=launch('[[processes]]\ntype = "web"\ncommand = ["b-web"]'))
    group(ws, ("a", "0.10"), ("b", "0.10"))
    result = ws.run("builder")
    assert result.code == 0, result.text
    metadata = tomllib_load(ws.layers / "config" / "metadata.toml")
    assert [(p["type"], p["command"], p["buildpack-id"]) for p in metadata["processes"]] == [
        ("web", ["b-web"], "b"),
        ("worker", ["a-worker"], "a"),
    ]
    assert "buildpack-default-process-type" not in metadata
    assert "redefining the following default process type" in result.err
    ws.buildpack(
        "b", build=launch('[[processes]]\ntype = "alpha"\ncommand = ["b"]\ndefault = true')
    )
    assert ws.run("builder").code == 0
    metadata = tomllib_load(ws.layers / "config" / "metadata.toml")
    assert metadata["buildpack-default-process-type"] == "alpha"
    assert [p["type"] for p in metadata["processes"]] == ["alpha", "web", "worker"]
    ws.buildpack("b", build=launch(
        '[[processes]]\ntype = "one"\ncommand = ["1"]\ndefault = true',
        '[[processes]]\ntype = "two"\ncommand = ["2"]\ndefault = true',
    ))  # fmt: skip
    failed = ws.run("builder")
    assert failed.code == 52
    assert "multiple default process types are not allowed" in failed.err


def tomllib_load(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def test_case_22_process_shapes_by_buildpack_api(ws: Workspace) -> None:
    ws.buildpack(
        "new",
        api="0.9",
        build=launch('[[processes]]\ntype = "web"\ncommand = ["node"]\ndirect = true'),
    )
    group(ws, ("new", "0.9"))
    failed = ws.run("builder")
    assert failed.code == 52
    assert "'direct' is not supported from Buildpack API 0.9" in failed.err
    ws.buildpack(
        "old", api="0.8", build=launch('[[processes]]\ntype = "web"\ncommand = "node server.js"')
    )
    group(ws, ("old", "0.8"))
    assert ws.run("builder").code == 0
    (process,) = tomllib_load(ws.layers / "config" / "metadata.toml")["processes"]
    assert process["command"] == ["node server.js"]
    assert process["direct"] is False


def test_case_23_sbom_files(ws: Workspace) -> None:
    write = "\n".join((
        'mkdir -p "$1/deps"',
        'printf \'[types]\\nlaunch = true\\ncache = true\\n\' > "$1/deps.toml"',
        'echo \'{"bomFormat":"CycloneDX"}\' > "$1/deps.sbom.cdx.json"',
        'echo \'{"launch":1}\' > "$1/launch.sbom.cdx.json"',
    ))  # fmt: skip
    ws.buildpack("a", api="0.10", build=write)
    group(ws, ("a", "0.10"))
    failed = ws.run("builder")
    assert failed.code == 52
    assert "SBOM type application/vnd.cyclonedx+json is not declared in sbom-formats" in failed.err
    ws.buildpack(
        "a",
        api="0.10",
        build=write,
        buildpack_keys='sbom-formats = ["application/vnd.cyclonedx+json"]',
    )
    assert ws.run("builder").code == 0
    sbom = ws.layers / "sbom"
    assert json.loads((sbom / "launch" / "a" / "deps" / "sbom.cdx.json").read_text()) == {
        "bomFormat": "CycloneDX"
    }
    assert (sbom / "cache" / "a" / "deps" / "sbom.cdx.json").is_file()
    assert json.loads((sbom / "launch" / "a" / "sbom.cdx.json").read_text()) == {"launch": 1}
    assert (sbom / "launch" / "sbom.legacy.json").read_text() == "null"
