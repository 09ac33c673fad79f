"""A Flask app from requirements.txt: pypack/python serves it with gunicorn on $PORT."""

import sys

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return f"Hello from Flask on Python {sys.version_info.major}.{sys.version_info.minor}\n"
