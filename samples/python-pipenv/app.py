"""A Bottle app installed from Pipfile.lock, served by waitress."""

from bottle import Bottle

app = Bottle()


@app.get("/")
def index() -> str:
    return "Hello from a Pipfile.lock app\n"
