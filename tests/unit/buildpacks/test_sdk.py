"""The buildpack SDK: TOML output, layers and reuse, env files, the runner's exit codes and
paths, staging with shims, the harness, scaffolding and discovery."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pypack.buildpacks.sdk import Detected, Require
from pypack.buildpacks.sdk.context import PlanEntry
from pypack.buildpacks.sdk.discovery import installed_buildpacks
from pypack.buildpacks.sdk.layers import Layer, cache_key
from pypack.buildpacks.sdk.packaging import is_sdk_buildpack, stage
from pypack.buildpacks.sdk.runner import main
from pypack.buildpacks.sdk.scaffold import scaffold
from pypack.buildpacks.sdk.testing import BuildpackHarness
from pypack.buildpacks.sdk.toml_writer import dumps

REPO = Path(__file__).parents[3]
BUNDLED = REPO / "src/pypack/buildpacks"

keys = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8)
scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.text(st.characters(codec="utf-8"), max_size=20),
)
tables = st.recursive(
    st.dictionaries(keys, scalars | st.lists(scalars, max_size=3), max_size=4),
    lambda children: st.dictionaries(keys, children | st.lists(children, min_size=1, max_size=2)),
    max_leaves=12,
)


@given(tables)
def test_toml_writer_round_trips_through_tomllib(document: dict[str, Any]) -> None:
    assert tomllib.loads(dumps(document)) == document


def test_layer_reuse_keeps_matching_cache_layers_and_resets_others(tmp_path: Path) -> None:
    layer = Layer.open(tmp_path, "deps")
    layer.cache = True
    assert not layer.reuse_if("k1")
    (layer.path / "kept").write_text("x")
    layer.write_toml()
    restored = Layer.open(tmp_path, "deps")
    restored.cache = True
    assert restored.reuse_if("k1")
    assert (restored.path / "kept").is_file()
    assert not restored.reuse_if("k2")
    assert list(restored.path.iterdir()) == []
    assert restored.metadata == {"cache-key": "k2"}


def test_launch_only_layer_is_reusable_from_its_toml_alone(tmp_path: Path) -> None:
    (tmp_path / "app.toml").write_text('[metadata]\ncache-key = "k"\n')
    layer = Layer.open(tmp_path, "app")
    layer.launch = True
    assert layer.reuse_if("k")
    assert not layer.path.exists()  # the exporter takes the previous image's layer
    layer.write_toml()
    written = tomllib.loads((tmp_path / "app.toml").read_text())
    assert written == {
        "types": {"launch": True, "build": False, "cache": False},
        "metadata": {"cache-key": "k"},
    }


def test_environment_files_follow_the_spec_names(tmp_path: Path) -> None:
    layer = Layer.open(tmp_path, "env")
    layer.env.prepend("PATH", "/x/bin")
    layer.env.append("LIST", "b", delim=",")
    layer.build_env.override("CC", "gcc")
    layer.launch_env("web").default("PORT", "8080")
    files = {
        str(p.relative_to(layer.path)): p.read_text() for p in layer.path.rglob("*") if p.is_file()
    }
    assert files == {
        "env/PATH.prepend": "/x/bin",
        "env/PATH.delim": os.pathsep,
        "env/LIST.append": "b",
        "env/LIST.delim": ",",
        "env.build/CC.override": "gcc",
        "env.launch/web/PORT.default": "8080",
    }
    script = layer.exec_d("setup", "#!/bin/sh\n")
    assert script.stat().st_mode & 0o111


def test_cache_key_changes_with_content_and_order(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("a")
    first = cache_key("3.11", tmp_path / "r.txt")
    assert cache_key("3.11", tmp_path / "r.txt") == first
    assert cache_key(tmp_path / "r.txt", "3.11") != first
    (tmp_path / "r.txt").write_text("b")
    assert cache_key("3.11", tmp_path / "r.txt") != first


def test_detected_plan_with_alternatives() -> None:
    detected = Detected(
        provides=["python"],
        requires=[Require("python", {"version": "3.11"})],
        alternatives=[Detected(requires=["python"])],
    )
    assert detected.as_toml() == {
        "provides": [{"name": "python"}],
        "requires": [{"name": "python", "metadata": {"version": "3.11"}}],
        "or": [{"requires": [{"name": "python"}]}],
    }


def write_buildpack(directory: Path, source: str, api: str = "0.12") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "buildpack.toml").write_text(
        f'api = "{api}"\n[buildpack]\nid = "t/bp"\nversion = "1.0.0"\n'
    )
    (directory / "buildpack.py").write_text(source)
    return directory


def run_main(
    phase: str, buildpack: Path, app: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    cwd = Path.cwd()
    os.chdir(app)
    try:
        code = main(phase, [str(buildpack / "bin" / phase), *argv])
    finally:
        os.chdir(cwd)
    return code, capsys.readouterr().err


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CNB_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_env")
def test_runner_exit_codes_and_positional_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (
        "from pypack.buildpacks.sdk import BuildpackError, Detected\n"
        "def detect(ctx):\n"
        "    if (ctx.app_dir / 'boom').exists():\n"
        "        raise BuildpackError('boom: remove the boom file')\n"
        "    return Detected(requires=['x']) if (ctx.app_dir / 'yes').exists() else None\n"
        "def build(ctx):\n"
        "    ctx.launch.process('web', ['run'], default=True)\n"
        "    ctx.unmet('x')\n"
    )
    buildpack = write_buildpack(tmp_path / "bp", source)
    app = tmp_path / "app"
    app.mkdir()
    platform = tmp_path / "platform"
    (platform / "env").mkdir(parents=True)
    plan = tmp_path / "plan.toml"
    assert run_main("detect", buildpack, app, [str(platform), str(plan)], capsys)[0] == 100
    (app / "yes").touch()
    assert run_main("detect", buildpack, app, [str(platform), str(plan)], capsys)[0] == 0
    assert tomllib.loads(plan.read_text()) == {"requires": [{"name": "x"}]}
    (app / "boom").touch()
    code, err = run_main("detect", buildpack, app, [str(platform), str(plan)], capsys)
    assert (code, err) == (1, "ERROR: boom: remove the boom file\n")
    layers = tmp_path / "layers"
    layers.mkdir()
    bp_plan = tmp_path / "bp-plan.toml"
    bp_plan.write_text('[[entries]]\nname = "x"\n')
    argv = [str(layers), str(platform), str(bp_plan)]
    assert run_main("build", buildpack, app, argv, capsys)[0] == 0
    launch = tomllib.loads((layers / "launch.toml").read_text())
    assert launch["processes"] == [{"type": "web", "command": ["run"], "args": [], "default": True}]
    assert tomllib.loads((layers / "build.toml").read_text()) == {"unmet": [{"name": "x"}]}


@pytest.mark.usefixtures("clean_env")
def test_runner_refuses_an_unsupported_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    buildpack = write_buildpack(tmp_path / "bp", "def detect(ctx):\n    return True\n", "0.8")
    code, err = run_main(
        "detect", buildpack, tmp_path, [str(tmp_path), str(tmp_path / "p")], capsys
    )
    assert code == 1
    assert f"{buildpack / 'buildpack.toml'}: api '0.8' is not one the pypack SDK supports" in err


def test_staged_buildpack_runs_from_its_shims_with_the_vendored_sdk(tmp_path: Path) -> None:
    source = write_buildpack(
        tmp_path / "src",
        "from pypack.buildpacks.sdk import Detected\n"
        "import pypack.buildpacks.sdk as sdk\n"
        "def detect(ctx):\n"
        "    print(sdk.__file__)\n"
        "    return Detected(provides=['p'], requires=['p'])\n"
        "def build(ctx):\n    pass\n",
    )
    assert is_sdk_buildpack(source)
    staged = stage(source, tmp_path / "staged")
    assert not is_sdk_buildpack(staged)
    bin_dir = tmp_path / "path"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    (tmp_path / "platform").mkdir()
    done = subprocess.run(
        [str(staged / "bin" / "detect")],
        cwd=tmp_path,
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "CNB_PLATFORM_DIR": str(tmp_path / "platform"),
            "CNB_BUILD_PLAN_PATH": str(tmp_path / "plan.toml"),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(staged / "lib" / "pypack" / "buildpacks" / "sdk"))
    plan = tomllib.loads((tmp_path / "plan.toml").read_text())
    assert plan == {"provides": [{"name": "p"}], "requires": [{"name": "p"}]}


def test_python_buildpack_detects_and_declares_a_web_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = BuildpackHarness(BUNDLED / "python", tmp_path / "h")
    app = tmp_path / "app"
    app.mkdir()
    assert not harness.detect(app).passed
    (app / "main.py").write_text("print('hi')\n")
    assert harness.detect(app).plan == {
        "provides": [{"name": "python"}],
        "requires": [{"name": "python"}],
    }
    printed = harness.build(app, plan=[PlanEntry("python")])
    assert "web" not in printed.processes  # a main.py that starts no server is no start command
    assert (
        "pypack/python: warning: no start command found; looked for a Procfile, a "
        "[project.scripts] entry named web/serve/server/start"
    ) in capsys.readouterr().err
    (app / "main.py").write_text(
        "import http.server\n\nif __name__ == '__main__':\n"
        "    http.server.ThreadingHTTPServer(('', 8080), None).serve_forever()\n"
    )
    built = harness.build(app, plan=[PlanEntry("python")])
    assert built.processes["web"]["command"] == ["sh", "-c", "exec python main.py"]
    # no dependencies: no virtualenv, only `python` on PATH next to python3
    assert built.layers == {
        "python": {"types": {"launch": True, "build": True, "cache": False}, "metadata": {}}
    }
    link = built.layer_path("python") / "bin" / "python"
    assert link.is_symlink()
    assert Path(os.readlink(link)).name.startswith("python3")


def test_python_buildpack_reports_a_bad_pyproject_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\n")
    harness = BuildpackHarness(BUNDLED / "python", tmp_path / "h")
    from pypack.buildpacks.sdk import BuildpackError

    with pytest.raises(BuildpackError, match=r"^pyproject.toml: .*; fix the file$"):
        harness.build(tmp_path)


def test_python_buildpack_skips_collectstatic_when_asked(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "site1").mkdir(parents=True)
    (app / "manage.py").write_text(
        "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site1.settings')\n"
        "open('collected', 'w').write('yes')\n"
    )
    (app / "site1" / "settings.py").write_text("STATIC_ROOT = 'static'\n")
    (app / "site1" / "wsgi.py").write_text("application = None\n")
    harness = BuildpackHarness(BUNDLED / "python", tmp_path / "h")
    harness.build(app, plan=[PlanEntry("python")], env={"BP_DISABLE_COLLECTSTATIC": "true"})
    assert not (app / "collected").exists()
    harness.build(app, plan=[PlanEntry("python")])
    assert (app / "collected").read_text() == "yes"


def test_a_buildpack_package_vendors_its_own_modules(tmp_path: Path) -> None:
    from pypack.buildpacks.sdk.packaging import stage

    staged = stage(BUNDLED / "python", tmp_path / "python")
    lib = staged / "lib" / "pypack" / "buildpacks" / "python"
    assert {p.name for p in lib.glob("*.py")} >= {"inputs.py", "start.py", "__init__.py"}
    done = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "import pypack.buildpacks.python.inputs as m; print(m.__file__)", str(staged / "lib")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.stdout.strip() == str(lib / "inputs.py"), done.stderr


def test_procfile_buildpack_processes_and_bad_line(tmp_path: Path) -> None:
    harness = BuildpackHarness(BUNDLED / "procfile", tmp_path / "h")
    app = tmp_path / "app"
    app.mkdir()
    assert not harness.detect(app).passed
    (app / "Procfile").write_text("# comment\nworker: run-jobs\nweb: serve --port $PORT\n")
    assert harness.detect(app).passed
    built = harness.build(app)
    assert {k: (p["command"], p["default"]) for k, p in built.processes.items()} == {
        "worker": (["sh", "-c", "run-jobs"], False),
        "web": (["sh", "-c", "serve --port $PORT"], True),
    }
    (app / "Procfile").write_text("web serve\n")
    from pypack.buildpacks.sdk import BuildpackError

    with pytest.raises(BuildpackError, match="Procfile line 1: 'web serve' is not"):
        harness.build(app)


def test_scaffold_refuses_bad_ids_and_non_empty_directories(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="buildpack id 'Bad ID'"):
        scaffold("Bad ID", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="is not empty"):
        scaffold("example/hello", tmp_path / "full")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]


def test_scaffolded_buildpack_passes_its_own_tests(tmp_path: Path) -> None:
    created = subprocess.run(
        [
            str(Path(sys.executable).parent / "pypack"),
            "buildpack",
            "new",
            "example/hello",
            "--path",
            str(tmp_path / "hello"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "hello")],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert tested.returncode == 0, tested.stdout
    assert "2 passed" in tested.stdout


def test_bundled_buildpacks_are_discovered_through_entry_points() -> None:
    found = {b.id: b.directory for b in installed_buildpacks()}
    assert found["pypack/python"] == BUNDLED / "python"
    assert found["pypack/procfile"] == BUNDLED / "procfile"


def test_the_guides_twenty_line_buildpack_works(tmp_path: Path) -> None:
    guide = (REPO / "docs/buildpack-sdk.md").read_text()
    source = guide.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(source.strip().splitlines()) <= 22
    buildpack = write_buildpack(tmp_path / "bp", source)
    app = tmp_path / "app"
    (app / "public").mkdir(parents=True)
    harness = BuildpackHarness(buildpack, tmp_path / "h")
    assert not harness.detect(app).passed
    (app / "public" / "index.html").write_text("hi")
    assert harness.detect(app).passed
    built = harness.build(app)
    assert built.processes["web"]["command"] == ["serve"]
    serve = built.layer_path("server") / "bin" / "serve"
    assert serve.read_text().startswith("#!/bin/sh\nexec python3 -m http.server")
    assert (built.layer_path("server") / "env.launch" / "PORT.default").read_text() == "8080"
