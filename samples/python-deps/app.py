"""A web app with a dependency from requirements.txt: reports its own size in human units."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import humanize


class Size(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        size = humanize.naturalsize(Path(__file__).stat().st_size)
        body = f"app.py is {size}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    ThreadingHTTPServer(("0.0.0.0", port), Size).serve_forever()
