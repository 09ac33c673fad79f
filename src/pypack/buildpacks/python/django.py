"""Django's ``collectstatic`` at build time, when the settings set ``STATIC_ROOT`` (as Heroku
does); ``BP_DISABLE_COLLECTSTATIC=true`` skips it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pypack.buildpacks.python.start import find_django

STATIC_ROOT = re.compile(r"^STATIC_ROOT\s*=", re.MULTILINE)


def collectstatic(app_dir: Path, python: str, env: dict[str, str]) -> str | None:
    """Run ``manage.py collectstatic``; what was done for the log, or ``None`` when there is no
    Django project with ``STATIC_ROOT``. A failure raises ``RuntimeError`` with one line."""
    django = find_django(app_dir)
    if django is None or django.settings is None:
        return None
    if not STATIC_ROOT.search(django.settings.read_text(errors="replace")):
        return None
    done = subprocess.run(
        [python, "manage.py", "collectstatic", "--noinput"],
        cwd=django.manage.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    last = lines[-1] if lines else f"exit code {done.returncode}"
    if done.returncode != 0:
        raise RuntimeError(
            f"{django.manage.relative_to(app_dir)} collectstatic failed: {last}; fix STATIC_ROOT "
            "or the static files, or set BP_DISABLE_COLLECTSTATIC=true"
        )
    return last
