"""Image extensions through the detector binary: detect, then generate.

A run.Dockerfile that only switches the base image (``ARG base_image`` / ``FROM <image>``)
switches analyzed.toml's run image; a Dockerfile that would need the extender (pypack has
none) is refused with one line naming the extension and the file, exit 102 (the reference
extender's code for a failed extension), and nothing of that generate is left behind.
"""

from __future__ import annotations

import pytest

from tests.conformance.harness import Result, Workspace

ANALYZED = '[run-image]\nreference = "old-run@sha256:{}"\nimage = "old-run"\n'.format("0" * 64)
PROVIDES = 'cat >> "$2" <<EOF\n[[provides]]\nname = "tool"\nEOF'
REQUIRES = 'cat >> "$2" <<EOF\n[[requires]]\nname = "tool"\nEOF'


def write_dockerfile(kind: str, text: str) -> str:
    """A bin/generate snippet writing ``<kind>.Dockerfile`` with ``text``."""
    return f"cat > \"$CNB_OUTPUT_DIR/{kind}.Dockerfile\" <<'EOF'\n{text}EOF"


def builder(ws: Workspace, generate: str, *, second: str | None = None) -> None:
    """A buildpack requiring ``tool`` and extensions providing it, in order.toml."""
    ws.buildpack("bp", detect=REQUIRES)
    ws.extension("ext/one", detect=PROVIDES, generate=generate)
    order = '[[order]]\n[[order.group]]\nid = "bp"\nversion = "1.0.0"\n'
    order += '[[order-extensions]]\n[[order-extensions.group]]\nid = "ext/one"\nversion = "1.0.0"\n'
    if second is not None:
        ws.extension("ext/two", detect="exit 0", generate=second)
        order += '[[order-extensions.group]]\nid = "ext/two"\nversion = "1.0.0"\n'
    ws.order_path.parent.mkdir(parents=True, exist_ok=True)
    ws.order_path.write_text(order)
    (ws.root / "cnb" / "run.toml").write_text('[[images]]\nimage = "old-run"\n')
    (ws.layers / "analyzed.toml").write_text(ANALYZED)


def detect(ws: Workspace, api: str = "0.13") -> Result:
    return ws.run(
        "detector",
        "-extensions", str(ws.extensions),
        "-run", str(ws.root / "cnb" / "run.toml"),
        "-log-level=debug",
        env={"CNB_PLATFORM_API": api, "CNB_EXPERIMENTAL_MODE": "warn"},
    )  # fmt: skip


@pytest.mark.parametrize("api", ["0.12", "0.13", "0.15"])
def test_from_only_run_dockerfile_switches_the_run_image(ws: Workspace, api: str) -> None:
    builder(ws, write_dockerfile("run", "ARG base_image\nFROM new-run:1.2\n"))
    result = detect(ws, api)
    assert result.code == 0, result.text
    run_image = ws.read_toml("analyzed.toml")["run-image"]
    assert run_image["image"] == run_image["reference"] == "new-run:1.2"
    assert not run_image.get("extend", False)
    assert "target" not in run_image
    assert "new runtime base image 'new-run:1.2' not found in run metadata" in result.text
    group = ws.read_toml("group.toml")
    assert [e["id"] for e in group["group-extensions"]] == ["ext/one"]
    assert [e["id"] for e in group["group"]] == ["bp"]
    assert (ws.layers / "plan.toml").read_bytes() == b""  # the extension met "tool"
    generated = ws.layers / "generated"
    if api == "0.12":
        assert (generated / "run" / "ext_one" / "Dockerfile").is_file()
    else:
        assert (generated / "ext_one" / "run.Dockerfile").is_file()


def test_extension_plan_holds_what_it_provides(ws: Workspace) -> None:
    builder(ws, 'cp "$3" "$CNB_OUTPUT_DIR/seen-plan.toml"')
    result = detect(ws)
    assert result.code == 0, result.text
    seen = (ws.layers / "generated" / "ext_one" / "seen-plan.toml").read_text()
    assert 'name = "tool"' in seen
    assert ws.read_toml("analyzed.toml")["run-image"]["image"] == "old-run"  # nothing switched


def test_a_later_switch_makes_an_earlier_run_dockerfile_ignored(ws: Workspace) -> None:
    builder(
        ws,
        write_dockerfile("run", "FROM ${base_image}\nRUN echo extend\n"),
        second=write_dockerfile("run", "FROM last-run\n"),
    )
    result = detect(ws)
    assert result.code == 0, result.text
    assert ws.read_toml("analyzed.toml")["run-image"]["image"] == "last-run"
    assert (ws.layers / "generated" / "ext_one" / "run.Dockerfile.ignore").is_file()


@pytest.mark.parametrize(
    ("kind", "text", "instruction"),
    [
        ("run", "FROM new-run\nRUN apk add curl\n", "RUN on line 2"),
        ("run", "ARG base_image\nFROM ${base_image}\nUSER root\n", "USER on line 3"),
        ("build", "ARG base_image\nFROM ${base_image}\nRUN make\n", "RUN on line 3"),
    ],
)
def test_other_instructions_are_refused_with_exit_102(
    ws: Workspace, kind: str, text: str, instruction: str
) -> None:
    builder(ws, write_dockerfile(kind, text))
    result = detect(ws)
    assert result.code == 102, result.text
    lines = [line for line in result.err.splitlines() if "not supported" in line]
    assert len(lines) == 1, result.err
    path = ws.layers / "generated" / "ext_one" / f"{kind}.Dockerfile"
    assert f"failed to extend {kind} image: extension ext/one: {path}: {instruction}" in lines[0]
    assert (ws.layers / "analyzed.toml").read_text() == ANALYZED
    assert not (ws.layers / "generated" / "ext_one").exists()
    assert "tool" in (ws.layers / "plan.toml").read_text()  # detect's plan, not filtered


def test_malformed_build_dockerfile_is_a_generate_error(ws: Workspace) -> None:
    builder(ws, write_dockerfile("build", "FROM busybox\n"))
    result = detect(ws)
    assert result.code == 92, result.text
    assert (
        "failed to parse build.Dockerfile for extension ext/one: build.Dockerfile did not start "
        "with required ARG command"
    ) in result.err
    assert (ws.layers / "analyzed.toml").read_text() == ANALYZED


def test_failing_generate_exits_91(ws: Workspace) -> None:
    builder(ws, "exit 3")
    result = detect(ws)
    assert result.code == 91, result.text
    assert "extension ext/one@1.0.0 exited with status 3" in result.err


def test_extension_requires_is_an_error(ws: Workspace) -> None:
    builder(ws, "exit 0")
    ws.extension("ext/one", detect=REQUIRES)
    result = detect(ws)
    assert result.code == 20, result.text  # the extension errors; optional, the group fails
    assert 'extension ext/one outputs "requires" which is not allowed' in result.text


def test_extensions_before_platform_013_are_experimental(ws: Workspace) -> None:
    builder(ws, write_dockerfile("run", "FROM new-run\n"))
    result = ws.run("detector", "-extensions", str(ws.extensions), env={"CNB_PLATFORM_API": "0.12"})
    assert result.code != 0
    assert "Platform requested experimental feature 'Dockerfiles'" in result.err
    assert "experimental features are disabled by CNB_EXPERIMENTAL_MODE=error" in result.err
