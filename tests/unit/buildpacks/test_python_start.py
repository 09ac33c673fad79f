"""pypack/python start.py: the start command inferred for an app without a Procfile."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pypack.buildpacks.python.start import LOOKED_FOR, StartCommand, find_start

PORT = "${PORT:-8080}"
GUNICORN = frozenset({"gunicorn"})
UVICORN = frozenset({"uvicorn"})
WAITRESS = frozenset({"waitress"})
FLASK = frozenset({"flask"})
NOTHING: frozenset[str] = frozenset()

MANAGE = """\
import os
import sys

def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{settings}")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)

if __name__ == "__main__":
    main()
"""
FLASK_APP = "from flask import Flask\n\napp = Flask(__name__)\n"
FASTAPI_APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"
FLASKR = """\
import os
from flask import Flask

def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    return app
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def sh(command: str) -> list[str]:
    return ["sh", "-c", f"exec {command}"]


def django(root: Path, settings: str = "", *, subdir: str = "", project: str = "mysite") -> Path:
    base = f"{subdir}/" if subdir else ""
    files = {
        f"{base}manage.py": MANAGE.format(settings=f"{project}.settings"),
        f"{base}{project}/__init__.py": "",
        f"{base}{project}/settings.py": settings,
    }
    return write(root, files)


def start(root: Path, installed: frozenset[str]) -> StartCommand:
    found = find_start(root, installed)
    assert found is not None
    return found


# Rule 1: [project.scripts]


def test_project_script_web(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nscripts = { web = "x:main" }\n'})
    found = start(tmp_path, NOTHING)
    assert found.command == sh("web")
    assert found.why == "[project.scripts] web in pyproject.toml"


def test_project_script_names_in_order(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "x"\n[project.scripts]\nstart = "x:a"\nserve = "x:b"\n'
    write(tmp_path, {"pyproject.toml": pyproject})
    found = start(tmp_path, NOTHING)
    assert found.command == sh("serve")
    assert "serve" in found.why


def test_project_script_with_another_name_is_not_a_start_command(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nscripts = { x-cli = "x:main" }\n'})
    assert find_start(tmp_path, GUNICORN) is None


def test_broken_pyproject_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[project\nscripts = {", "app.py": FLASK_APP})
    found = start(tmp_path, GUNICORN)
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} app:app")


def test_project_script_beats_django(tmp_path: Path) -> None:
    django(tmp_path, 'WSGI_APPLICATION = "mysite.wsgi.application"\n')
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nscripts = { server = "x:m" }\n'})
    found = start(tmp_path, GUNICORN)
    assert found.command == sh("server")
    assert "[project.scripts] server" in found.why


# Rule 2: Django


def test_django_wsgi_application_served_by_gunicorn(tmp_path: Path) -> None:
    django(tmp_path, 'DEBUG = False\nWSGI_APPLICATION = "mysite.wsgi.application"\n')
    found = start(tmp_path, frozenset({"django", "gunicorn", "uvicorn"}))
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} mysite.wsgi:application")
    assert found.why == (
        "Django project mysite (WSGI_APPLICATION in mysite/settings.py), served by gunicorn"
    )


def test_django_wsgi_application_names_another_module(tmp_path: Path) -> None:
    django(tmp_path, 'WSGI_APPLICATION = "mysite.serving.wsgi_app"\n')
    found = start(tmp_path, GUNICORN)
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} mysite.serving:wsgi_app")


def test_django_default_wsgi_module(tmp_path: Path) -> None:
    django(tmp_path, "DEBUG = True\n")
    write(tmp_path, {"mysite/wsgi.py": "application = None\n"})
    found = start(tmp_path, GUNICORN)
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} mysite.wsgi:application")
    assert "(mysite/wsgi.py)" in found.why


def test_django_settings_package(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manage.py": MANAGE.format(settings="config.settings"),
            "config/__init__.py": "",
            "config/settings/__init__.py": 'WSGI_APPLICATION = "config.web.application"\n',
        },
    )
    found = start(tmp_path, GUNICORN)
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} config.web:application")
    assert "config/settings/__init__.py" in found.why


def test_django_without_application_falls_through(tmp_path: Path) -> None:
    django(tmp_path, "DEBUG = True\n")  # no WSGI_APPLICATION, no mysite/wsgi.py
    assert find_start(tmp_path, GUNICORN) is None


def test_django_asgi_application_served_by_uvicorn(tmp_path: Path) -> None:
    settings = 'WSGI_APPLICATION = "mysite.wsgi.application"\n'
    settings += 'ASGI_APPLICATION = "mysite.asgi.application"\n'
    django(tmp_path, settings)
    found = start(tmp_path, frozenset({"django", "uvicorn"}))
    assert found.command == sh(f"uvicorn --host 0.0.0.0 --port {PORT} mysite.asgi:application")
    assert "(ASGI_APPLICATION in mysite/settings.py), served by uvicorn" in found.why


def test_django_default_asgi_module_served_by_uvicorn(tmp_path: Path) -> None:
    django(tmp_path, "")
    write(tmp_path, {"mysite/wsgi.py": "", "mysite/asgi.py": ""})
    found = start(tmp_path, UVICORN)
    assert found.command == sh(f"uvicorn --host 0.0.0.0 --port {PORT} mysite.asgi:application")
    assert "(mysite/asgi.py)" in found.why


def test_django_uvicorn_without_asgi_application_uses_waitress(tmp_path: Path) -> None:
    django(tmp_path, 'WSGI_APPLICATION = "mysite.wsgi.application"\n')
    found = start(tmp_path, UVICORN | WAITRESS)
    assert found.command == sh(f"waitress-serve --listen=0.0.0.0:{PORT} mysite.wsgi:application")
    assert "served by waitress" in found.why


def test_django_without_a_server_is_no_match(tmp_path: Path) -> None:
    django(tmp_path, 'WSGI_APPLICATION = "mysite.wsgi.application"\n')
    write(tmp_path, {"app.py": FLASK_APP})  # Django decided: no Flask fallback
    assert find_start(tmp_path, frozenset({"django", "uvicorn", "flask"})) is None


def test_django_in_a_subdirectory_gunicorn_chdir(tmp_path: Path) -> None:
    django(tmp_path, 'WSGI_APPLICATION = "mysite.wsgi.application"\n', subdir="backend")
    found = start(tmp_path, GUNICORN)
    assert found.command == sh(
        f"gunicorn --bind 0.0.0.0:{PORT} --chdir backend mysite.wsgi:application"
    )
    assert "backend/mysite/settings.py" in found.why


def test_django_in_a_subdirectory_uvicorn_app_dir(tmp_path: Path) -> None:
    django(tmp_path, "", subdir="web")
    write(tmp_path, {"web/mysite/asgi.py": ""})
    found = start(tmp_path, UVICORN)
    assert found.command == sh(
        f"uvicorn --host 0.0.0.0 --port {PORT} --app-dir web mysite.asgi:application"
    )
    assert "(web/mysite/asgi.py)" in found.why


def test_django_in_a_subdirectory_waitress_changes_directory(tmp_path: Path) -> None:
    django(tmp_path, 'WSGI_APPLICATION = "mysite.wsgi.application"\n', subdir="backend")
    found = start(tmp_path, WAITRESS)
    assert found.command == [
        "sh",
        "-c",
        f"cd backend && exec waitress-serve --listen=0.0.0.0:{PORT} mysite.wsgi:application",
    ]


def test_django_at_the_root_beats_a_subdirectory(tmp_path: Path) -> None:
    django(tmp_path, 'WSGI_APPLICATION = "mysite.wsgi.application"\n')
    django(tmp_path, 'WSGI_APPLICATION = "other.wsgi.application"\n', subdir="a", project="other")
    found = start(tmp_path, GUNICORN)
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} mysite.wsgi:application")


def test_django_beats_a_flask_file(tmp_path: Path) -> None:
    django(tmp_path, 'WSGI_APPLICATION = "mysite.wsgi.application"\n')
    write(tmp_path, {"app.py": FLASK_APP, "main.py": FASTAPI_APP})
    found = start(tmp_path, GUNICORN | UVICORN)
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} mysite.wsgi:application")
    assert found.why.startswith("Django project mysite")


def test_manage_py_without_settings_module_is_not_django(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manage.py": "import sys\nprint(sys.argv)\n",
            "mysite/wsgi.py": "",
            "app.py": FLASK_APP,
        },
    )
    found = start(tmp_path, GUNICORN)
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} app:app")


# Rule 3: FastAPI, Starlette and other ASGI apps


def test_fastapi_main_without_main_block_served_by_uvicorn(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": FASTAPI_APP + '\n@app.get("/")\ndef root():\n    return {}\n'})
    found = start(tmp_path, frozenset({"fastapi", "uvicorn", "gunicorn"}))
    assert found.command == sh(f"uvicorn --host 0.0.0.0 --port {PORT} main:app")
    assert found.why == "FastAPI app app in main.py, served by uvicorn"


def test_fastapi_attribute_call_and_annotation(tmp_path: Path) -> None:
    write(tmp_path, {"api.py": "import fastapi\n\napi: fastapi.FastAPI = fastapi.FastAPI()\n"})
    found = start(tmp_path, UVICORN)
    assert found.command == sh(f"uvicorn --host 0.0.0.0 --port {PORT} api:api")


def test_starlette_app(tmp_path: Path) -> None:
    source = "from starlette.applications import Starlette\n\nasgi_app = Starlette(routes=[])\n"
    write(tmp_path, {"server.py": source})
    found = start(tmp_path, UVICORN)
    assert found.command == sh(f"uvicorn --host 0.0.0.0 --port {PORT} server:asgi_app")
    assert "Starlette app asgi_app in server.py" in found.why


def test_fastapi_cli_without_uvicorn(tmp_path: Path) -> None:
    write(tmp_path, {"app/__init__.py": "", "app/main.py": FASTAPI_APP})
    found = start(tmp_path, frozenset({"fastapi", "fastapi-cli"}))
    assert found.command == sh(f"fastapi run --host 0.0.0.0 --port {PORT} app/main.py")
    assert "served by fastapi run" in found.why


def test_fastapi_cli_does_not_serve_starlette(tmp_path: Path) -> None:
    write(
        tmp_path, {"main.py": "from starlette.applications import Starlette\napp = Starlette()\n"}
    )
    assert find_start(tmp_path, frozenset({"fastapi-cli", "gunicorn"})) is None


def test_asgi_app_without_an_asgi_server_is_no_match(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": FASTAPI_APP + "\nif __name__ == '__main__':\n    app.run()\n"})
    assert find_start(tmp_path, frozenset({"fastapi", "gunicorn", "flask"})) is None


def test_asgi_priority_names_before_other_files(tmp_path: Path) -> None:
    write(tmp_path, {"aaa.py": FASTAPI_APP, "server.py": FASTAPI_APP, "app.py": FASTAPI_APP})
    found = start(tmp_path, UVICORN)
    assert found.command == sh(f"uvicorn --host 0.0.0.0 --port {PORT} app:app")


def test_asgi_in_another_top_level_file(tmp_path: Path) -> None:
    write(tmp_path, {"zeta.py": FASTAPI_APP, "beta.py": "x = 1\n", "gamma.py": FASTAPI_APP})
    found = start(tmp_path, UVICORN)
    assert found.command == sh(f"uvicorn --host 0.0.0.0 --port {PORT} gamma:app")


def test_asgi_in_app_package(tmp_path: Path) -> None:
    write(tmp_path, {"app/__init__.py": "", "app/main.py": FASTAPI_APP})
    found = start(tmp_path, UVICORN)
    assert found.command == sh(f"uvicorn --host 0.0.0.0 --port {PORT} app.main:app")
    assert "in app/main.py" in found.why


def test_asgi_in_src_layout(tmp_path: Path) -> None:
    write(tmp_path, {"src/shop/__init__.py": "", "src/shop/api.py": FASTAPI_APP})
    found = start(tmp_path, UVICORN)
    assert found.command == sh(f"uvicorn --host 0.0.0.0 --port {PORT} shop.api:app")


def test_asgi_flat_module_in_src(tmp_path: Path) -> None:
    write(tmp_path, {"src/main.py": FASTAPI_APP})
    found = start(tmp_path, UVICORN)
    assert found.command == sh(f"uvicorn --host 0.0.0.0 --port {PORT} main:app")


def test_asgi_beats_wsgi(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": FLASK_APP, "zz.py": FASTAPI_APP})
    found = start(tmp_path, GUNICORN | UVICORN)
    assert found.command == sh(f"uvicorn --host 0.0.0.0 --port {PORT} zz:app")


def test_app_object_inside_a_function_is_not_module_level(tmp_path: Path) -> None:
    source = "from fastapi import FastAPI\n\ndef build():\n    app = FastAPI()\n    return app\n"
    write(tmp_path, {"main.py": source})
    assert find_start(tmp_path, UVICORN) is None


# Rule 4: Flask and other WSGI apps


def test_flask_app_served_by_gunicorn(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": FLASK_APP})
    found = start(tmp_path, frozenset({"flask", "gunicorn", "waitress"}))
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} app:app")
    assert found.why == "Flask app app in app.py, served by gunicorn"


def test_flask_attribute_call_served_by_waitress(tmp_path: Path) -> None:
    write(tmp_path, {"wsgi.py": "import flask\n\napplication = flask.Flask(__name__)\n"})
    found = start(tmp_path, frozenset({"flask", "waitress"}))
    assert found.command == sh(f"waitress-serve --listen=0.0.0.0:{PORT} wsgi:application")
    assert "served by waitress" in found.why


def test_flask_development_server_as_last_resort(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": FLASK_APP})
    found = start(tmp_path, FLASK)
    assert found.command == sh(f"flask --app app:app run --host 0.0.0.0 --port {PORT}")
    assert "development server" in found.why


def test_flask_without_any_server_is_no_match(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": FLASK_APP + "\nif __name__ == '__main__':\n    app.run()\n"})
    assert find_start(tmp_path, UVICORN) is None


def test_create_app_factory_gunicorn(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": FLASKR})
    found = start(tmp_path, GUNICORN)
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} 'main:create_app()'")
    assert "create_app() in main.py" in found.why


def test_flask_tutorial_layout(tmp_path: Path) -> None:
    write(tmp_path, {"flaskr/__init__.py": FLASKR, "flaskr/db.py": "import sqlite3\n"})
    found = start(tmp_path, frozenset({"flask", "gunicorn"}))
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} 'flaskr:create_app()'")
    assert "create_app() in flaskr/__init__.py" in found.why


def test_flask_tutorial_layout_waitress_call(tmp_path: Path) -> None:
    write(tmp_path, {"flaskr/__init__.py": FLASKR})
    found = start(tmp_path, frozenset({"flask", "waitress"}))
    assert found.command == sh(f"waitress-serve --listen=0.0.0.0:{PORT} --call flaskr:create_app")


def test_flask_tutorial_layout_flask_run(tmp_path: Path) -> None:
    write(tmp_path, {"flaskr/__init__.py": FLASKR})
    found = start(tmp_path, FLASK)
    assert found.command == sh(f"flask --app flaskr:create_app run --host 0.0.0.0 --port {PORT}")


def test_app_object_beats_factory_in_the_same_file(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": FLASK_APP + "\ndef create_app():\n    return app\n"})
    found = start(tmp_path, GUNICORN)
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} app:app")


def test_bottle_and_falcon(tmp_path: Path) -> None:
    write(tmp_path, {"server.py": "import bottle\n\nweb = bottle.Bottle()\n"})
    found = start(tmp_path, GUNICORN)
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} server:web")
    falcon = write(tmp_path / "falcon", {"api.py": "import falcon\n\napp = falcon.App()\n"})
    assert start(falcon, GUNICORN).command == sh(f"gunicorn --bind 0.0.0.0:{PORT} api:app")


def test_bottle_is_not_served_by_flask_run(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "from bottle import Bottle\napp = Bottle()\n"})
    assert find_start(tmp_path, FLASK) is None


def test_a_generic_app_class_is_not_a_wsgi_app(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "from mylib import App\n\napp = App()\n"})
    assert find_start(tmp_path, GUNICORN) is None


def test_create_app_of_an_asgi_module_is_not_a_wsgi_factory(tmp_path: Path) -> None:
    source = "from fastapi import FastAPI\n\ndef create_app():\n    return FastAPI()\n"
    write(tmp_path, {"main.py": source})
    assert find_start(tmp_path, GUNICORN) is None


# Rule 5: app.py or main.py that starts a server


def test_app_py_starting_a_server_in_its_main_block(tmp_path: Path) -> None:
    source = """\
    from http.server import HTTPServer, SimpleHTTPRequestHandler
    import os

    if __name__ == "__main__":
        port = int(os.environ.get("PORT", "8080"))
        HTTPServer(("", port), SimpleHTTPRequestHandler).serve_forever()
    """
    write(tmp_path, {"app.py": source})
    found = start(tmp_path, NOTHING)
    assert found.command == sh("python app.py")
    assert found.why == "app.py starts a server (its __main__ block)"


def test_main_py_with_aiohttp_run_app(tmp_path: Path) -> None:
    source = """\
    from aiohttp import web

    def main():
        web.run_app(web.Application())

    if "__main__" == __name__:
        main()
    """
    write(tmp_path, {"main.py": source})
    found = start(tmp_path, frozenset({"aiohttp"}))
    assert found.command == sh("python main.py")
    assert "main.py starts a server" in found.why


def test_app_py_without_a_server_is_not_a_start_command(tmp_path: Path) -> None:
    source = """\
    import subprocess, asyncio

    if __name__ == "__main__":
        subprocess.run(["echo", "hi"])
        asyncio.run(asyncio.sleep(0))
        print("done")
    """
    write(tmp_path, {"app.py": source})
    assert find_start(tmp_path, GUNICORN) is None


def test_server_call_without_a_main_block_is_not_a_start_command(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "import uvicorn\n\nuvicorn.run('other:app', port=8080)\n"})
    assert find_start(tmp_path, UVICORN) is None


def test_other_files_are_not_server_scripts(tmp_path: Path) -> None:
    source = "import uvicorn\n\nif __name__ == '__main__':\n    uvicorn.run('x:app')\n"
    write(tmp_path, {"run.py": source})
    assert find_start(tmp_path, UVICORN) is None


# Robustness


def test_syntax_error_file_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": "def broken(:\n", "app.py": FLASK_APP, "x.py": "\0"})
    found = start(tmp_path, GUNICORN)
    assert found.command == sh(f"gunicorn --bind 0.0.0.0:{PORT} app:app")


def test_only_broken_files_give_no_match(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "if __name__ == '__main__':\n    app.run(\n", "manage.py": "(("})
    assert find_start(tmp_path, GUNICORN) is None


def test_a_huge_file_is_not_parsed(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": FASTAPI_APP + "#" * 1_000_000 + "\n"})
    assert find_start(tmp_path, UVICORN) is None


def test_empty_app_gives_no_match(tmp_path: Path) -> None:
    assert find_start(tmp_path, GUNICORN | UVICORN | WAITRESS | FLASK) is None


def test_installed_names_are_normalized(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": FASTAPI_APP})
    found = start(tmp_path, frozenset({"FastAPI_CLI"}))
    assert found.command == sh(f"fastapi run --host 0.0.0.0 --port {PORT} main.py")


def test_looked_for_names_every_rule() -> None:
    for word in ("Procfile", "[project.scripts]", "Django", "Flask", "FastAPI", "app.py"):
        assert word in LOOKED_FOR
    assert "\n" not in LOOKED_FOR


WEB_APPS: dict[str, tuple[dict[str, str], frozenset[str]]] = {
    "django-gunicorn": (
        {
            "manage.py": MANAGE.format(settings="s.settings"),
            "s/settings.py": "",
            "s/wsgi.py": "",
        },
        GUNICORN,
    ),
    "django-uvicorn": (
        {"b/manage.py": MANAGE.format(settings="s.settings"), "b/s/asgi.py": ""},
        UVICORN,
    ),
    "django-waitress": (
        {"manage.py": MANAGE.format(settings="s.settings"), "s/wsgi.py": ""},
        WAITRESS,
    ),
    "fastapi-uvicorn": ({"main.py": FASTAPI_APP}, UVICORN),
    "fastapi-cli": ({"main.py": FASTAPI_APP}, frozenset({"fastapi-cli"})),
    "starlette-hypercorn": (
        {"app.py": "from starlette.applications import Starlette\napp = Starlette()\n"},
        frozenset({"hypercorn"}),
    ),
    "flask-gunicorn": ({"app.py": FLASK_APP}, GUNICORN),
    "flask-waitress": ({"app.py": FLASK_APP}, WAITRESS),
    "flask-run": ({"app.py": FLASK_APP}, FLASK),
    "factory-waitress": ({"flaskr/__init__.py": FLASKR}, WAITRESS),
}


@pytest.mark.parametrize("name", sorted(WEB_APPS))
def test_every_web_command_binds_port_on_all_interfaces(tmp_path: Path, name: str) -> None:
    files, installed = WEB_APPS[name]
    write(tmp_path, files)
    found = start(tmp_path, installed)
    assert found.command[:2] == ["sh", "-c"]
    assert len(found.command) == 3
    assert "exec " in found.command[2]
    assert "0.0.0.0" in found.command[2]
    assert PORT in found.command[2]
    assert found.command[2].split("exec ", 1)[1].split()[0] != "python"
