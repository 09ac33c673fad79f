"""The start command of a Python app image, inferred when the app has no Procfile.

This module runs under the build image's python3 (3.11 or later), so it uses the standard
library only. It never imports the app: it reads the app's files as text and with ``ast``.
"""

from __future__ import annotations

import ast
import enum
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pypack.buildpacks.python.locks import normalize

LOOKED_FOR = (
    "a Procfile, a [project.scripts] entry named web/serve/server/start, a Django, Flask or "
    "FastAPI app object, or app.py/main.py that starts a server"
)

SCRIPT_NAMES = ("web", "serve", "server", "start")
PRIORITY_FILES = ("main.py", "app.py", "asgi.py", "server.py", "api.py")
SERVER_SCRIPTS = ("app.py", "main.py")
PORT = "${PORT:-8080}"
MAX_SOURCE_BYTES = 1_000_000

# Matched on the last component of the called name (``FastAPI(...)``, ``fastapi.FastAPI(...)``).
ASGI_CLASSES = frozenset({"FastAPI", "Starlette", "Quart", "Litestar"})
WSGI_CLASSES = frozenset({"Flask", "Bottle"})
# Too generic to match on the last component alone: only as imported from their framework.
ASGI_QUALIFIED = frozenset({"falcon.asgi.App"})
WSGI_QUALIFIED = frozenset({"falcon.App", "falcon.API"})
ASGI_FRAMEWORKS = frozenset({"fastapi", "starlette", "quart", "litestar"})
SERVER_CALLS = frozenset({"run", "serve_forever", "run_app", "serve"})
NOT_SERVERS = frozenset({"subprocess", "asyncio"})  # subprocess.run(...), asyncio.run(...)


class _Miss(enum.Enum):
    """A rule's answer when it does not apply (None: it applies, but no server fits)."""

    MISS = 0


MISS = _Miss.MISS


@dataclass(frozen=True)
class StartCommand:
    """A process argv and one short phrase telling the build log why it was chosen."""

    command: list[str]
    why: str


@dataclass(frozen=True)
class _Module:
    """A candidate app module: its importable name and its path relative to the app dir."""

    name: str
    path: Path  # relative to the app dir
    tree: ast.Module


def find_start(app_dir: Path, installed: frozenset[str]) -> StartCommand | None:
    """The start command of the app in ``app_dir``, or None when none can be inferred.

    ``installed`` holds the normalized names of the distributions in the app's venv
    (lowercase, ``-`` for ``_`` and ``.``), e.g. ``{"gunicorn", "django", "flask"}``.
    The first rule that matches decides, even when it finds no server to run the app with
    (then the answer is None and the caller tells what to add).
    """
    have = frozenset(normalize(name) for name in installed)
    script = _project_script(app_dir)
    if script is not None:
        return script
    django = _django(app_dir, have)
    if not isinstance(django, _Miss):
        return django
    modules = _candidate_modules(app_dir)
    asgi = _asgi(modules, have)
    if not isinstance(asgi, _Miss):
        return asgi
    wsgi = _wsgi(modules, have)
    if not isinstance(wsgi, _Miss):
        return wsgi
    return _server_script(app_dir)


def _shell(*words: str) -> list[str]:
    """``sh -c "exec ..."``: the shell expands ``${PORT:-8080}``; the words are pre-quoted."""
    return ["sh", "-c", "exec " + " ".join(words)]


def _parse(path: Path) -> ast.Module | None:
    """The AST of a Python file, or None when it cannot be read or parsed."""
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        return ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None


# Rule 1: [project.scripts]


def _project_script(app_dir: Path) -> StartCommand | None:
    pyproject = app_dir / "pyproject.toml"
    try:
        document = tomllib.loads(pyproject.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    project = document.get("project")
    scripts = project.get("scripts") if isinstance(project, dict) else None
    if not isinstance(scripts, dict):
        return None
    for key in SCRIPT_NAMES:
        if key in scripts:
            return StartCommand(_shell(key), f"[project.scripts] {key} in pyproject.toml")
    return None


# Rule 2: Django


@dataclass(frozen=True)
class DjangoApp:
    """A Django project found from its ``manage.py`` and settings module."""

    manage: Path
    settings: Path | None
    project: str
    subdir: str  # "" when manage.py is at the app root
    wsgi: tuple[str, str] | None  # (module:object, where it was found)
    asgi: tuple[str, str] | None


def _django(app_dir: Path, have: frozenset[str]) -> StartCommand | _Miss | None:
    """A Django start command; None when Django matched but no server fits; MISS: no Django."""
    found = find_django(app_dir)
    if found is None:
        return MISS
    subdir = shlex.quote(found.subdir) if found.subdir else ""
    label = f"Django project {found.project}"
    if "gunicorn" in have and found.wsgi is not None:
        target, where = found.wsgi
        chdir = ("--chdir", subdir) if subdir else ()
        return StartCommand(
            _shell("gunicorn", "--bind", f"0.0.0.0:{PORT}", *chdir, target),
            f"{label} ({where}), served by gunicorn",
        )
    if "uvicorn" in have and found.asgi is not None:
        target, where = found.asgi
        app_dir_flag = ("--app-dir", subdir) if subdir else ()
        return StartCommand(
            _shell("uvicorn", "--host", "0.0.0.0", "--port", PORT, *app_dir_flag, target),
            f"{label} ({where}), served by uvicorn",
        )
    if "waitress" in have and found.wsgi is not None:
        target, where = found.wsgi
        # waitress-serve has no --chdir: change directory in the shell first.
        command = _shell("waitress-serve", f"--listen=0.0.0.0:{PORT}", target)
        if subdir:
            command[2] = f"cd {subdir} && {command[2]}"
        return StartCommand(command, f"{label} ({where}), served by waitress")
    return None


def find_django(app_dir: Path) -> DjangoApp | None:
    """The Django project whose ``manage.py`` is at the app root or one directory below."""
    manages = [app_dir / "manage.py"]
    try:
        subdirs = sorted(p for p in app_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        subdirs = []
    manages += [d / "manage.py" for d in subdirs]
    for manage in manages:
        if not manage.is_file():
            continue
        tree = _parse(manage)
        settings_module = _settings_module(tree) if tree is not None else None
        if settings_module is None:
            continue
        found = _django_app(app_dir, manage.parent, settings_module)
        if found is not None:
            return found
    return None


def _settings_module(tree: ast.Module) -> str | None:
    """x.settings from ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x.settings")``."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and len(node.args) == 2
            and _string(node.args[0]) == "DJANGO_SETTINGS_MODULE"
        ):
            value = _string(node.args[1])
            if value is not None and _is_dotted(value):
                return value
    return None


def _django_app(app_dir: Path, base: Path, settings_module: str) -> DjangoApp | None:
    project = settings_module.split(".")[0]
    subdir = base.relative_to(app_dir).as_posix() if base != app_dir else ""
    prefix = f"{subdir}/" if subdir else ""
    settings = _module_file(base, settings_module)
    names: dict[str, str] = {}
    if settings is not None:
        tree = _parse(settings)
        if tree is not None:
            names = _string_assignments(tree)
    where_settings = settings.relative_to(app_dir).as_posix() if settings is not None else ""

    def setting(name: str, default_file: str) -> tuple[str, str] | None:
        value = names.get(name)
        if value is not None and _is_dotted(value) and "." in value:
            return _colon(value), f"{name} in {where_settings}"
        if (base / project / default_file).is_file():
            return f"{project}.{default_file[:-3]}:application", f"{prefix}{project}/{default_file}"
        return None

    wsgi = setting("WSGI_APPLICATION", "wsgi.py")
    asgi = setting("ASGI_APPLICATION", "asgi.py")
    if wsgi is None and asgi is None:
        return None
    return DjangoApp(base / "manage.py", settings, project, subdir, wsgi, asgi)


def _module_file(base: Path, dotted: str) -> Path | None:
    """The file of module ``dotted`` under ``base``: ``a/b.py`` or ``a/b/__init__.py``."""
    stem = base.joinpath(*dotted.split("."))
    for path in (stem.with_name(stem.name + ".py"), stem / "__init__.py"):
        if path.is_file():
            return path
    return None


def _assignments(tree: ast.Module) -> Iterator[tuple[list[ast.expr], ast.expr]]:
    """(targets, value) of every module-level assignment, annotated or not."""
    for node in tree.body:
        if isinstance(node, ast.Assign):
            yield node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            yield [node.target], node.value


def _string_assignments(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "string"`` assignments."""
    found: dict[str, str] = {}
    for targets, value in _assignments(tree):
        text = _string(value)
        if text is None:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                found[target.id] = text
    return found


def _string(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_dotted(value: str) -> bool:
    return all(part.isidentifier() for part in value.split("."))


def _colon(dotted: str) -> str:
    """``x.wsgi.application`` -> ``x.wsgi:application``."""
    module, _, name = dotted.rpartition(".")
    return f"{module}:{name}"


# Rules 3 and 4: app objects in candidate modules


def _candidate_modules(app_dir: Path) -> list[_Module]:
    """The modules that may hold the app object, most likely first, each parsed once."""
    files: list[tuple[str, Path]] = []
    top = sorted(app_dir.glob("*.py"))
    files += [(name[:-3], app_dir / name) for name in PRIORITY_FILES]
    files += [(p.stem, p) for p in top if p.name not in PRIORITY_FILES]
    files += [(f"app.{name[:-3]}", app_dir / "app" / name) for name in PRIORITY_FILES]
    files += [(name[:-3], app_dir / "src" / name) for name in PRIORITY_FILES]
    src_packages = _packages(app_dir / "src")
    for package in src_packages:
        files += [(f"{package.name}.{name[:-3]}", package / name) for name in PRIORITY_FILES]
    files += [(package.name, package / "__init__.py") for package in _packages(app_dir)]
    files += [(package.name, package / "__init__.py") for package in src_packages]
    modules: list[_Module] = []
    seen: set[Path] = set()
    for name, path in files:
        if path in seen or not _is_dotted(name) or not path.is_file():
            continue
        seen.add(path)
        tree = _parse(path)
        if tree is not None:
            modules.append(_Module(name, path.relative_to(app_dir), tree))
    return modules


def _packages(directory: Path) -> list[Path]:
    """Subdirectories of ``directory`` with an ``__init__.py``, sorted."""
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.name.isidentifier() and (p / "__init__.py").is_file()]


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted name it was imported as, from module-level imports."""
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    first = alias.name.split(".")[0]
                    names[first] = first
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _called_name(call: ast.Call, imports: dict[str, str]) -> str | None:
    """The dotted name a call calls, its first part resolved through the imports."""
    parts: list[str] = []
    func: ast.expr = call.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    parts.append(imports.get(func.id, func.id))
    return ".".join(reversed(parts))


def _app_objects(module: _Module) -> list[tuple[str, str]]:
    """(variable, called dotted name) of module-level ``NAME = SomeCall(...)``."""
    imports = _imports(module.tree)
    found: list[tuple[str, str]] = []
    for targets, value in _assignments(module.tree):
        if not isinstance(value, ast.Call):
            continue
        called = _called_name(value, imports)
        if called is None:
            continue
        found += [(t.id, called) for t in targets if isinstance(t, ast.Name)]
    return found


def _is_asgi(called: str) -> bool:
    return called.rpartition(".")[2] in ASGI_CLASSES or called in ASGI_QUALIFIED


def _is_wsgi(called: str) -> bool:
    return called.rpartition(".")[2] in WSGI_CLASSES or called in WSGI_QUALIFIED


def _asgi(modules: list[_Module], have: frozenset[str]) -> StartCommand | _Miss | None:
    """Rule 3: an ASGI app object. None: found, but no ASGI server installed. MISS: none."""
    for module in modules:
        for variable, called in _app_objects(module):
            if not _is_asgi(called):
                continue
            kind = called.rpartition(".")[2]
            where = f"{kind} app {variable} in {module.path.as_posix()}"
            target = f"{module.name}:{variable}"
            if "uvicorn" in have:
                return StartCommand(
                    _shell("uvicorn", "--host", "0.0.0.0", "--port", PORT, target),
                    f"{where}, served by uvicorn",
                )
            if kind == "FastAPI" and "fastapi-cli" in have:
                return StartCommand(
                    _shell(
                        "fastapi",
                        "run",
                        "--host",
                        "0.0.0.0",
                        "--port",
                        PORT,
                        module.path.as_posix(),
                    ),
                    f"{where}, served by fastapi run",
                )
            if "hypercorn" in have:
                return StartCommand(
                    _shell("hypercorn", "--bind", f"0.0.0.0:{PORT}", target),
                    f"{where}, served by hypercorn",
                )
            return None
    return MISS


def _factory(module: _Module) -> bool:
    """A module-level ``def create_app(...)`` in a module that imports no ASGI framework."""
    frameworks = {dotted.split(".")[0] for dotted in _imports(module.tree).values()}
    if frameworks & ASGI_FRAMEWORKS:
        return False
    return any(
        isinstance(node, ast.FunctionDef) and node.name == "create_app" for node in module.tree.body
    )


def _wsgi(modules: list[_Module], have: frozenset[str]) -> StartCommand | _Miss | None:
    """Rule 4: a WSGI app object or factory. None: found, but no server fits. MISS: none."""
    for module in modules:
        objects = [(v, c) for v, c in _app_objects(module) if _is_wsgi(c)]
        if objects:
            variable, called = objects[0]
            kind = called.rpartition(".")[2]
            where = f"{kind} app {variable} in {module.path.as_posix()}"
            return _wsgi_command(module.name, variable, False, kind == "Flask", where, have)
        if _factory(module):
            where = f"create_app() in {module.path.as_posix()}"
            return _wsgi_command(module.name, "create_app", True, True, where, have)
    return MISS


def _wsgi_command(
    module: str, name: str, factory: bool, flask: bool, where: str, have: frozenset[str]
) -> StartCommand | None:
    if "gunicorn" in have:
        # quoted: "()" is shell syntax
        target = shlex.quote(f"{module}:{name}()" if factory else f"{module}:{name}")
        return StartCommand(
            _shell("gunicorn", "--bind", f"0.0.0.0:{PORT}", target),
            f"{where}, served by gunicorn",
        )
    if "waitress" in have:
        call = ("--call",) if factory else ()
        return StartCommand(
            _shell("waitress-serve", f"--listen=0.0.0.0:{PORT}", *call, f"{module}:{name}"),
            f"{where}, served by waitress",
        )
    if flask and "flask" in have:
        return StartCommand(
            _shell(
                "flask", "--app", f"{module}:{name}", "run", "--host", "0.0.0.0", "--port", PORT
            ),
            f"{where}, served by flask's development server (add gunicorn for production)",
        )
    return None


# Rule 5: app.py or main.py that starts a server


def _server_script(app_dir: Path) -> StartCommand | None:
    for name in SERVER_SCRIPTS:
        path = app_dir / name
        tree = _parse(path) if path.is_file() else None
        if tree is not None and _has_main_block(tree) and _calls_server(tree):
            return StartCommand(
                _shell("python", name), f"{name} starts a server (its __main__ block)"
            )
    return None


def _has_main_block(tree: ast.Module) -> bool:
    """A module-level ``if __name__ == "__main__":``."""
    for node in tree.body:
        if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
            continue
        test = node.test
        if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
            continue
        sides = [test.left, test.comparators[0]]
        names = {s.id for s in sides if isinstance(s, ast.Name)}
        strings = {_string(s) for s in sides}
        if names == {"__name__"} and "__main__" in strings:
            return True
    return False


def _calls_server(tree: ast.Module) -> bool:
    """A call of ``.run(``, ``serve_forever(``, ``run_app(`` or ``serve(`` anywhere in the file
    (``uvicorn.run(`` included), but not ``subprocess.run(`` nor ``asyncio.run(``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in SERVER_CALLS:
            if isinstance(func.value, ast.Name) and func.value.id in NOT_SERVERS:
                continue
            return True
        if isinstance(func, ast.Name) and func.id in SERVER_CALLS - {"run"}:
            return True
    return False
