"""The Python samples, one per way of declaring dependencies (requirements.txt with an include,
a PEP 621 package, poetry.lock, Pipfile.lock, uv.lock) plus Django and FastAPI without a
Procfile: each built with the default builder and answering on ``$PORT``, from the real index
through the machine's CA bundle (``--host-ca-certs``) and offline from a wheelhouse.

The wheelhouse is downloaded by the host's pip from exactly what each sample declares or locks
(no pip configuration of the machine applies: its local wheels would not match the locks'
hashes), and served as a find-links page on loopback; the offline builds get
``PIP_NO_INDEX=1`` and that page, and the buildpack hands both to uv.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pypack.buildpacks.python.locks import pipfile_lock_requirements, poetry_lock_requirements
from tests.e2e.conftest import http_answer, run_pypack, shared_home, venv_diff_id

pytestmark = pytest.mark.e2e

SAMPLES = Path(__file__).parents[2] / "samples"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
ANSWERS = {
    "python-requirements": b"Hello from Flask on Python 3.11",
    "python-package": b"Hello from the greeter package 1.0.0",
    "python-poetry": b"Hello from a poetry.lock app",
    "python-pipenv": b"Hello from a Pipfile.lock app",
    "python-uv": b"Hello from FastAPI, locked by uv",
    "python-django": b"Hello from Django; static files collected: True",
}
STARTS = {
    "python-requirements": "Flask app app in app.py, served by gunicorn",
    "python-package": "[project.scripts] web in pyproject.toml",
    "python-poetry": "Flask app app in app.py, served by gunicorn",
    "python-pipenv": "Bottle app app in app.py, served by waitress",
    "python-uv": "FastAPI app app in main.py, served by uvicorn",
    "python-django": "Django project mysite (WSGI_APPLICATION in mysite/settings.py)",
}
SECRET = "s3cret-binding-pass"


def locked_lines(app: Path) -> list[str]:
    """What a sample pins, as pip requirement lines (for the wheelhouse download)."""
    if (app / "uv.lock").is_file():
        lock = tomllib.loads((app / "uv.lock").read_text())
        return [f"{p['name']}=={p['version']}" for p in lock["package"] if "registry" in
                p.get("source", {})]  # fmt: skip
    if (app / "poetry.lock").is_file():
        pyproject = tomllib.loads((app / "pyproject.toml").read_text())
        lines = poetry_lock_requirements((app / "poetry.lock").read_text(), pyproject, frozenset())
        return [line.split(" ")[0] for line in lines.lines]
    if (app / "Pipfile.lock").is_file():
        lines = pipfile_lock_requirements((app / "Pipfile.lock").read_text(), dev=False)
        return [line.split(" ")[0] for line in lines.lines]
    return []


def pip_download(args: list[str], destination: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
         "--cert", CA_BUNDLE, "--only-binary=:all:", "-d", str(destination), *args],
        check=True, timeout=600, env=env,
    )  # fmt: skip


class Wheelhouse(SimpleHTTPRequestHandler):
    """A find-links page (``/``) and a PEP 503 simple index (``/simple/<name>/``) over one
    directory of wheels; with ``password`` set, every request needs Basic credentials."""

    password = ""

    def do_GET(self) -> None:
        if self.password:
            expected = base64.b64encode(f"deploy:{self.password}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="wheels"')
                self.end_headers()
                return
        match = re.fullmatch(r"/simple/([^/]+)/", self.path)
        if match:
            wanted = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            links = [
                f'<a href="/{name}">{name}</a>'
                for name in sorted(os.listdir(self.directory))
                if re.sub(r"[-_.]+", "-", name.split("-")[0]).lower() == wanted
            ]
            body = ("<html><body>" + "".join(links) + "</body></html>").encode()
            self.send_response(200 if links else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(directory: Path, password: str = "") -> tuple[ThreadingHTTPServer, str]:
    handler = partial(type("H", (Wheelhouse,), {"password": password}), directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def wheelhouse() -> Iterator[Path]:
    """Every wheel the samples need on Python 3.11, from the real index."""
    directory = Path(tempfile.mkdtemp(prefix="pypack-wheelhouse-"))
    for app in ANSWERS:
        pinned = locked_lines(SAMPLES / app)
        if pinned:
            pip_download(["--no-deps", *pinned], directory)
        elif (SAMPLES / app / "requirements.txt").is_file():
            pip_download(["-r", str(SAMPLES / app / "requirements.txt")], directory)
    pip_download(["waitress>=3", "flit_core>=3.9,<4"], directory)  # the package and its backend
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def wheels_url(wheelhouse: Path) -> Iterator[str]:
    server, url = serve(wheelhouse)
    yield url + "/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    with shared_home("pypack-samples-") as root:
        yield root


def offline(url: str) -> list[str]:
    return ["--env", "PIP_NO_INDEX=1", "--env", f"PIP_FIND_LINKS={url}"]


@pytest.mark.parametrize("app", list(ANSWERS))
def test_sample_builds_from_the_index_and_answers(home: Path, app: str) -> None:
    built = run_pypack(home, "build", f"samples/{app}:online", "--path", str(SAMPLES / app),
                       "--host-ca-certs")  # fmt: skip
    assert f"pypack/python: process web: {STARTS[app]}" in built.stdout
    assert http_answer(home, f"samples/{app}:online").startswith(ANSWERS[app])


@pytest.mark.parametrize("app", list(ANSWERS))
def test_sample_builds_offline_from_a_wheelhouse_and_answers(
    home: Path, app: str, wheels_url: str, tmp_path: Path
) -> None:
    sbom = tmp_path / "sbom"
    built = run_pypack(home, "build", f"samples/{app}:offline", "--path", str(SAMPLES / app),
                       *offline(wheels_url), "--sbom-output-dir", str(sbom))  # fmt: skip
    assert f"installing from {source_of(app)} with uv" in built.stdout
    assert http_answer(home, f"samples/{app}:offline").startswith(ANSWERS[app])
    document = json.loads((sbom / "sbom/launch/pypack_python/venv/sbom.cdx.json").read_text())
    components = {c["name"].lower(): c for c in document["components"]}
    assert all(c["version"] and c["purl"].startswith("pkg:pypi/") for c in components.values())
    if app in ("python-poetry", "python-pipenv", "python-uv"):  # locked: hashes from the lock
        assert all(c.get("hashes") for c in components.values()), components
    assert any(c.get("licenses") for c in components.values())


def source_of(app: str) -> str:
    names = ("uv.lock", "poetry.lock", "Pipfile.lock", "requirements.txt", "pyproject.toml")
    return next(n for n in names if (SAMPLES / app / n).is_file())


def test_an_app_asking_for_python_313_gets_the_trixie_builder(
    home: Path, wheels_url: str, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    shutil.copytree(SAMPLES / "python-requirements", app)
    (app / ".python-version").write_text("3.13\n")
    built = run_pypack(home, "build", "samples/py313:1", "--path", str(app), "--host-ca-certs",
                       timeout=1500)  # fmt: skip
    assert (
        "No builder given: using pypack/builder:trixie (Python 3.13), as the app asks for "
        "Python 3.13 (from .python-version)"
    ) in built.stderr
    assert http_answer(home, "samples/py313:1").startswith(b"Hello from Flask on Python 3.13")

    wrong = run_pypack(home, "build", "samples/py313:2", "--path", str(app), "--builder",
                       "pypack/builder:default", *offline(wheels_url), check=False)  # fmt: skip
    assert wrong.returncode != 0
    assert (
        "ERROR: .python-version: asks for Python 3.13; this builder's image has 3.11.2"
    ) in wrong.stdout + wrong.stderr
    assert "$ " not in wrong.stdout  # refused before any installer started

    (app / ".python-version").write_text("3.14\n")
    none = run_pypack(home, "build", "samples/py314:1", "--path", str(app), check=False)
    assert none.returncode == 1
    assert none.stderr.strip().splitlines()[-1] == (
        "ERROR: .python-version: asks for Python 3.14, and the default builders have 3.11 "
        "(pypack/builder:default), 3.13 (pypack/builder:trixie); ask for one of those, or give "
        "--builder with a stack that has it"
    )


def test_the_venv_key_holds_exactly_what_decides_the_venv(
    home: Path, wheels_url: str, tmp_path: Path
) -> None:
    """Each key input changed alone makes a fresh venv; source and unrelated env changes
    start no installer process; removing a package removes it; clean builds are identical."""
    app = tmp_path / "app"
    shutil.copytree(SAMPLES / "python-requirements", app)
    image = "samples/key:1"
    flags = ["--path", str(app), *offline(wheels_url)]

    def build(*extra: str) -> str:
        return run_pypack(home, "build", image, *flags, *extra).stdout

    first = build()
    assert "  $ " in first
    clean = venv_diff_id(home, image)
    assert build("--clear-cache").count("  $ ") >= 2  # a clean build again: same bytes
    assert venv_diff_id(home, image) == clean

    (app / "app.py").write_text((app / "app.py").read_text() + "# a source change\n")
    for unrelated in ([], ["--env", "GREETING=hi"]):
        again = build(*unrelated)
        assert "reusing the venv (requirements.txt unchanged)" in again
        assert "  $ " not in again  # no installer process, not even a venv

    base = app / "requirements/base.txt"
    pinned = base.read_text()
    cases = [
        ("the included file", ["--env", "X=1"], lambda: base.write_text("flask>=3.1.1,<4\n")),
        ("the installer", ["--env", "BP_PYTHON_INSTALLER=pip"], None),
        ("an index setting", ["--env", "PIP_TRUSTED_HOST=127.0.0.1"], None),
        ("the chosen groups", ["--env", "BP_PYTHON_GROUPS=dev"], None),
    ]
    for what, extra, change in cases:
        if change is not None:
            change()
        assert "installing from requirements.txt" in build(*extra), what
        # --no-reuse: the venv's own reuse, not the whole build's
        assert "  $ " not in build("--no-reuse", *extra), f"{what}: the same key again reuses it"
        base.write_text(pinned)
        assert "installing from requirements.txt" in build(), f"{what}: changed back"

    (app / "requirements.txt").write_text("-r requirements/base.txt\n")  # gunicorn removed
    sbom = tmp_path / "sbom"
    removed = build("--sbom-output-dir", str(sbom))
    assert "process web: Flask app app in app.py, served by flask" in removed
    document = json.loads((sbom / "sbom/launch/pypack_python/venv/sbom.cdx.json").read_text())
    names = {c["name"].lower() for c in document["components"]}
    assert "flask" in names
    assert "gunicorn" not in names
    assert http_answer(home, image).startswith(b"Hello from Flask")


def test_binding_credentials_reach_no_byte_of_log_image_or_cache(
    home: Path, wheelhouse: Path
) -> None:
    from pypack.pack.home import Home

    server, url = serve(wheelhouse, password=SECRET)
    bindings = Path(tempfile.mkdtemp(prefix="pypack-bindings-", dir="/tmp"))
    bindings.chmod(0o755)  # the build user reads the binding
    binding = bindings / "index"
    binding.mkdir()
    (binding / "type").write_text("pip\n")
    index = url.replace("//", f"//deploy:{SECRET}@")
    (binding / "pip.conf").write_text(f"[global]\nindex-url = {index}/simple\n")
    image = "samples/secret:1"
    try:
        built = run_pypack(home, "build", image, "--path", str(SAMPLES / "python-pipenv"),
                           "--volume", f"{binding}:/platform/bindings/index:ro")  # fmt: skip
        assert "installing from Pipfile.lock with uv" in built.stdout
        assert "--index-url=http://***@127.0.0.1:" in built.stdout  # the binding's index
        assert http_answer(home, image).startswith(ANSWERS["python-pipenv"])
        log = (built.stdout + built.stderr).encode()
        assert SECRET.encode() not in log
        # what this build wrote: the image's blobs, its build cache, the reuse record
        written = [*image_blobs(home, image), *Home(home).cache_for(image).rglob("*"),
                   *(home / "reuse").rglob("*")]  # fmt: skip
        searched = 0
        for path in written:
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                searched += len(data)
                assert SECRET.encode() not in data, path
        assert searched > 10_000_000  # the image's layers and the venv cache were searched
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(bindings, ignore_errors=True)


def image_blobs(home: Path, image: str) -> list[Path]:
    """The files of an image of the home's store: its manifest, config and layers."""
    from pypack.pack.home import Home
    from pypack.pack.images import local_name

    layout = Home(home).images
    descriptor = layout.resolve(local_name(image))
    assert descriptor is not None
    manifest = json.loads(layout.read_blob(descriptor.digest))
    digests = [descriptor.digest, manifest["config"]["digest"]]
    digests += [layer["digest"] for layer in manifest["layers"]]
    return [layout.blob_path(d) for d in digests]


def test_an_untrusted_index_certificate_is_one_line_with_the_fix(home: Path) -> None:
    """Behind the TLS-intercepting proxy these machines have, without --host-ca-certs."""
    from pypack.oci.stores import LayoutImageStore
    from pypack.pack.home import Home
    from pypack.pack.images import local_name

    failed = run_pypack(home, "build", "samples/untrusted:1", "--path",
                        str(SAMPLES / "python-requirements"), check=False)  # fmt: skip
    assert failed.returncode != 0
    errors = [line for line in failed.stdout.splitlines() if line.startswith("ERROR: uv")]
    assert len(errors) == 1
    assert re.fullmatch(
        r"ERROR: uv could not install (flask|gunicorn): the package index's TLS certificate is "
        r"not trusted \(a proxy that intercepts TLS\?\); use --host-ca-certs or a "
        r"ca-certificates binding",
        errors[0],
    ), errors
    assert not LayoutImageStore(Home(home).images).exists(local_name("samples/untrusted:1"))
