"""Conformance cases 1-15 and 35 (detection), named by their number in the checklist."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.conformance.harness import Workspace

PASS, FAIL = "exit 0", "exit 100"


def provides(*names: str) -> str:
    return 'cat >> "$2" <<EOF\n' + "".join(f'[[provides]]\nname = "{n}"\n' for n in names) + "EOF"


def requires(name: str, metadata: str = "") -> str:
    meta = f"[requires.metadata]\n{metadata}\n" if metadata else ""
    return f'cat >> "$2" <<EOF\n[[requires]]\nname = "{name}"\n{meta}EOF'


def test_case_01_one_passing_buildpack(ws: Workspace) -> None:
    ws.buildpack("a", buildpack_keys='homepage = "https://example.org/a"', detect=PASS)
    ws.order([[("a", "1.0.0", False)]])
    result = ws.run("detector")
    assert result.code == 0, result.text
    assert ws.read_toml("group.toml") == {
        "group": [
            {"id": "a", "version": "1.0.0", "api": "0.10", "homepage": "https://example.org/a"}
        ]
    }
    assert (ws.layers / "plan.toml").read_bytes() == b""
    assert "===> DETECTING" in result.out


def test_case_02_every_buildpack_fails(ws: Workspace) -> None:
    ws.buildpack("a", detect=FAIL)
    ws.buildpack("b", detect=FAIL)
    ws.order([[("a", "1.0.0", False)], [("b", "1.0.0", False)]])
    result = ws.run("detector")
    assert result.code == 20, result.text
    assert not (ws.layers / "group.toml").exists()


def test_case_03_an_erroring_buildpack(ws: Workspace) -> None:
    for code in (1, 42):
        ws.buildpack("a", detect=f"echo 'detect went wrong {code}'\nexit {code}")
        ws.order([[("a", "1.0.0", False)]])
        result = ws.run("detector")
        assert result.code == 21, result.text
        assert f"detect went wrong {code}" in result.out
        assert f"err:  a@1.0.0 ({code})" in result.out


def test_case_04_first_group_fails_second_passes(ws: Workspace) -> None:
    ws.buildpack("a", detect=FAIL)
    ws.buildpack("b", detect=PASS)
    ws.order([[("a", "1.0.0", False)], [("b", "1.0.0", False)]])
    assert ws.run("detector").code == 0
    assert ws.group() == ["b@1.0.0"]


def test_case_05_optional_buildpacks(ws: Workspace) -> None:
    ws.buildpack("a", detect=FAIL)
    ws.buildpack("b", detect=PASS)
    ws.order([[("a", "1.0.0", True), ("b", "1.0.0", False)]])
    assert ws.run("detector").code == 0
    assert ws.group() == ["b@1.0.0"]
    ws.buildpack("b", detect=FAIL)
    ws.order([[("a", "1.0.0", True), ("b", "1.0.0", True)]])
    assert ws.run("detector").code == 20


def test_case_06_provides_then_requires(ws: Workspace) -> None:
    ws.buildpack("a", detect=provides("x"))
    ws.buildpack("b", detect=requires("x", 'version = "1.2"\nlaunch = true'))
    ws.order([[("a", "1.0.0", False), ("b", "1.0.0", False)]])
    assert ws.run("detector").code == 0
    assert ws.read_toml("plan.toml") == {
        "entries": [
            {
                "providers": [{"id": "a", "version": "1.0.0"}],
                "requires": [{"name": "x", "metadata": {"version": "1.2", "launch": True}}],
            }
        ]
    }
    ws.order([[("b", "1.0.0", False), ("a", "1.0.0", False)]])
    (ws.layers / "group.toml").unlink()
    assert ws.run("detector").code == 20
    assert not (ws.layers / "group.toml").exists()


def test_case_07_unused_provide(ws: Workspace) -> None:
    ws.buildpack("a", detect=provides("y"))
    ws.buildpack("b", detect=PASS)
    ws.order([[("a", "1.0.0", False), ("b", "1.0.0", False)]])
    result = ws.run("detector", "-log-level", "debug")
    assert result.code == 20
    assert "fail: a@1.0.0 provides unused y" in result.out
    ws.order([[("a", "1.0.0", True), ("b", "1.0.0", False)]])
    assert ws.run("detector").code == 0
    assert ws.group() == ["b@1.0.0"]


def test_case_08_or_alternative_is_chosen(ws: Workspace) -> None:
    plan = (
        'cat >> "$2" <<EOF\n[[requires]]\nname = "z"\n'
        '[[or]]\n[[or.provides]]\nname = "q"\n[[or.requires]]\nname = "q"\nEOF'
    )
    ws.buildpack("a", detect=plan)
    ws.order([[("a", "1.0.0", False)]])
    assert ws.run("detector").code == 0
    entries = ws.read_toml("plan.toml")["entries"]
    assert [(e["providers"][0]["id"], e["requires"][0]["name"]) for e in entries] == [("a", "q")]


def test_case_09_composite_expands_with_the_rest_of_the_group(ws: Workspace) -> None:
    ws.composite("c", "1.0.0", [[("d", "1.0.0", False)], [("e", "1.0.0", False)]])
    ws.buildpack("d", detect=FAIL)
    ws.buildpack("e", detect=PASS)
    ws.buildpack("f", detect=PASS)
    ws.order([[("c", "1.0.0", False), ("f", "1.0.0", False)]])
    assert ws.run("detector").code == 0
    assert ws.group() == ["e@1.0.0", "f@1.0.0"]
    ws.buildpack("e", detect=FAIL)
    assert ws.run("detector").code == 20
    ws.order([[("c", "1.0.0", True), ("f", "1.0.0", False)]])
    assert ws.run("detector").code == 0
    assert ws.group() == ["f@1.0.0"]


def test_case_10_an_id_reached_twice_is_detected_once(ws: Workspace) -> None:
    counter = ws.root / "home" / "count"
    ws.buildpack("shared", detect=f'echo run >> "{counter}"')
    ws.composite("c1", "1.0.0", [[("shared", "1.0.0", False)]])
    ws.composite("c2", "1.0.0", [[("shared", "1.0.0", False)]])
    ws.order([[("c1", "1.0.0", False), ("c2", "1.0.0", False)]])
    assert ws.run("detector").code == 0
    assert ws.group() == ["shared@1.0.0"]
    assert counter.read_text() == "run\n"


def write_analyzed(ws: Workspace, arch: str) -> None:
    (ws.layers / "analyzed.toml").write_text(
        f'[run-image]\nreference = "run@sha256:{"0" * 64}"\n'
        f'[run-image.target]\nos = "linux"\narch = "{arch}"\n'
    )


def test_case_11_target_mismatch_is_an_error_without_running_detect(ws: Workspace) -> None:
    marker = ws.root / "home" / "ran"
    ws.buildpack(
        "a", detect=f'touch "{marker}"', toml='[[targets]]\nos = "linux"\narch = "arm64"\n'
    )
    ws.order([[("a", "1.0.0", False)]])
    write_analyzed(ws, "amd64")
    result = ws.run("detector")
    assert result.code == 21, result.text
    assert not marker.exists()
    assert "unable to satisfy target os/arch constraints" in result.out
    ws.buildpack("b", detect=PASS)  # no targets, has bin/build: linux
    ws.order([[("b", "1.0.0", False)]])
    assert ws.run("detector").code == 0


def env_dump(path: str) -> str:
    return f'env > "{path}"\necho "1=$1" >> "{path}"\necho "2=$2" >> "{path}"'


def read_env(path: str) -> dict[str, str]:
    values = {}
    with open(path) as handle:
        for line in handle:
            key, _, value = line.rstrip("\n").partition("=")
            values[key] = value
    return values


def test_case_12_detect_environment(ws: Workspace) -> None:
    dump = str(ws.root / "home" / "env")
    ws.buildpack("a", detect=env_dump(dump))
    ws.order([[("a", "1.0.0", False)]])
    write_analyzed(ws, "amd64")
    assert ws.run("detector", env={"FOO_LEAK": "secret"}).code == 0
    env = read_env(dump)
    assert env["CNB_BUILDPACK_DIR"] == str(ws.buildpacks / "a" / "1.0.0")
    assert env["CNB_PLATFORM_DIR"] == str(ws.platform) == env["1"]
    assert env["CNB_BUILD_PLAN_PATH"] == env["2"]
    assert (env["CNB_TARGET_OS"], env["CNB_TARGET_ARCH"]) == ("linux", "amd64")
    assert "FOO_LEAK" not in env
    assert env["HOME"] == str(ws.root / "home")
    assert "CNB_EXEC_ENV" not in env
    ws.buildpack("a", api="0.12", detect=env_dump(dump))
    assert ws.run("detector").code == 0
    assert read_env(dump)["CNB_EXEC_ENV"] == "production"
    ws.buildpack("a", api="0.7", detect=env_dump(dump))
    assert ws.run("detector").code == 0
    old = read_env(dump)
    assert "CNB_PLATFORM_DIR" not in old
    assert "CNB_BUILD_PLAN_PATH" not in old
    assert old["1"] == str(ws.platform)


def test_case_13_platform_env(ws: Workspace) -> None:
    dump = str(ws.root / "home" / "env")
    (ws.platform / "env" / "BP_X").write_text("v")
    (ws.platform / "env" / "PATH").write_text("/p")
    ws.buildpack("a", detect=env_dump(dump) + f'\ncat "$CNB_PLATFORM_DIR/env/BP_X" > "{dump}.file"')
    ws.order([[("a", "1.0.0", False)]])
    assert ws.run("detector").code == 0
    env = read_env(dump)
    assert env["BP_X"] == "v"
    assert env["PATH"] == "/p:/usr/local/bin:/usr/bin:/bin"
    ws.buildpack(
        "a",
        detect=env_dump(dump) + f'\ncat "$1/env/BP_X" > "{dump}.file"',
        buildpack_keys="clear-env = true",
    )
    assert ws.run("detector").code == 0
    assert "BP_X" not in read_env(dump)
    assert (ws.root / "home" / "env.file").read_text() == "v"


def test_case_14_unsupported_apis(ws: Workspace) -> None:
    ws.order([[("a", "1.0.0", False)]])
    for api in ("0.6", "0.13"):
        ws.buildpack("a", api=api)
        result = ws.run("detector")
        assert result.code == 12, result.text
        assert f"buildpack API version '{api}' is incompatible with the lifecycle" in result.err
    ws.buildpack("a")
    unset = ws.run("detector", env={"CNB_PLATFORM_API": ""})
    assert unset.code == 11
    assert "please set 'CNB_PLATFORM_API'" in unset.err
    assert ws.run("detector", env={"CNB_PLATFORM_API": "0.99"}).code == 11


def test_case_15_top_level_version_in_requires(ws: Workspace) -> None:
    ws.buildpack("a", detect='cat >> "$2" <<EOF\n[[requires]]\nname = "node"\nversion = "20"\nEOF')
    ws.order([[("a", "1.0.0", False)]])
    result = ws.run("detector")
    assert result.code == 21
    assert "a top-level 'version' is not allowed" in result.out


def test_case_35_layers_order_and_system_buildpacks(ws: Workspace) -> None:
    for name in ("a", "b", "pre", "post"):
        ws.buildpack(name, detect=PASS)
    ws.order([[("a", "1.0.0", False)]])
    (ws.layers / "order.toml").write_text(
        '[[order]]\n[[order.group]]\nid = "b"\nversion = "1.0.0"\n'
    )
    result = ws.run("detector", "-order", "")  # an empty flag means unset: <layers>/order.toml wins
    assert result.code == 0, result.text
    assert ws.group() == ["b@1.0.0"]
    (ws.root / "cnb" / "system.toml").write_text(
        '[[system.pre.buildpacks]]\nid = "pre"\nversion = "1.0.0"\n'
        '[[system.post.buildpacks]]\nid = "post"\nversion = "1.0.0"\n'
        '[[system.post.buildpacks]]\nid = "b"\nversion = "1.0.0"\n'
    )
    assert ws.run("detector", "-order", "").code == 0
    assert ws.group() == ["pre@1.0.0", "b@1.0.0", "post@1.0.0"]


def test_detector_refuses_root_and_arguments(ws: Workspace) -> None:
    ws.buildpack("a")
    ws.order([[("a", "1.0.0", False)]])
    as_root = ws.run("detector", as_root=True)
    assert (as_root.code, as_root.err.strip()) == (
        1,
        "ERROR: failed to detect: refusing to run as root",
    )
    extra = ws.run("detector", "unexpected")
    assert extra.code == 3
    undefined = ws.run("detector", "-no-such-flag")
    assert (undefined.code, undefined.err.strip()) == (
        2,
        "ERROR: flag provided but not defined: -no-such-flag",
    )
    too_old = ws.run("detector", "-system", "/cnb/system.toml", env={"CNB_PLATFORM_API": "0.14"})
    assert too_old.code == 2  # -system exists only from Platform 0.15


def test_the_elements_of_a_group_detect_at_once(ws: Workspace) -> None:
    """``a`` passes only once ``b`` (after it in the group) has started: one after another, ``a``
    would give up waiting; output still comes in group order."""
    marker = f"/tmp/pypack-detect-{uuid.uuid4().hex}"
    ws.buildpack("a", detect=f"for i in $(seq 100); do [ -e {marker} ] && exit 0; sleep 0.1; done\n"
                 "exit 100")  # fmt: skip
    ws.buildpack("b", detect=f"echo 'b ran'\ntouch {marker}\nexit 0")
    ws.order([[("a", "1.0.0", False), ("b", "1.0.0", False)]])
    try:
        result = ws.run("detector", "-log-level=debug")
    finally:
        Path(marker).unlink(missing_ok=True)
    assert result.code == 0, result.text
    assert ws.group() == ["a@1.0.0", "b@1.0.0"]
    assert result.out.index("pass: a@1.0.0") < result.out.index("pass: b@1.0.0")
