"""The ``web`` script: a WSGI app served by waitress on $PORT."""

import os
from collections.abc import Callable, Iterable

from waitress import serve

import greeter


def app(environ: dict[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello from the greeter package {greeter.__version__}\n".encode()]


def main() -> None:
    serve(app, host="0.0.0.0", port=int(os.environ.get("PORT", "8080")))
