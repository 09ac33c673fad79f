"""collectstatic at build time: run when STATIC_ROOT is set, one line when it fails."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pypack.buildpacks.python.django import collectstatic

MANAGE = """import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site1.settings")
if sys.argv[1:] != ["collectstatic", "--noinput"]:
    sys.exit("unexpected arguments")
if os.environ.get("FAIL"):
    print("Traceback (most recent call last):")
    sys.exit("django.core.exceptions.ImproperlyConfigured: STATIC_ROOT is not writable")
open("collected", "w").write("yes")
print("3 static files copied to '/workspace/staticfiles'.")
"""


def project(tmp_path: Path, settings: str) -> Path:
    (tmp_path / "site1").mkdir()
    (tmp_path / "manage.py").write_text(MANAGE)
    (tmp_path / "site1" / "settings.py").write_text(settings)
    (tmp_path / "site1" / "wsgi.py").write_text("application = None\n")
    return tmp_path


def test_collectstatic_runs_when_static_root_is_set(tmp_path: Path) -> None:
    app = project(tmp_path, 'STATIC_URL = "static/"\nSTATIC_ROOT = BASE_DIR / "staticfiles"\n')
    done = collectstatic(app, sys.executable, dict(os.environ))
    assert done == "3 static files copied to '/workspace/staticfiles'."
    assert (app / "collected").read_text() == "yes"


def test_no_static_root_or_no_django_runs_nothing(tmp_path: Path) -> None:
    app = project(tmp_path, 'STATIC_URL = "static/"\n# STATIC_ROOT = "x"\n')
    assert collectstatic(app, sys.executable, dict(os.environ)) is None
    assert not (app / "collected").exists()
    assert collectstatic(tmp_path / "site1", sys.executable, dict(os.environ)) is None


def test_a_failing_collectstatic_is_one_line_with_the_way_out(tmp_path: Path) -> None:
    app = project(tmp_path, 'STATIC_ROOT = "/nowhere"\n')
    with pytest.raises(RuntimeError) as raised:
        collectstatic(app, sys.executable, {**os.environ, "FAIL": "1"})
    assert str(raised.value) == (
        "manage.py collectstatic failed: django.core.exceptions.ImproperlyConfigured: "
        "STATIC_ROOT is not writable; fix STATIC_ROOT or the static files, or set "
        "BP_DISABLE_COLLECTSTATIC=true"
    )
    assert not (app / "collected").exists()
