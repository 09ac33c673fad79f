"""A Flask app installed from poetry.lock, without poetry in the image."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "Hello from a poetry.lock app\n"
