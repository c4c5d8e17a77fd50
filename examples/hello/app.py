"""A tiny web app for the sandbox: answers every path with its settings, on $PORT.

/healthz answers HEALTHZ_STATUS (default 200), so a deploy can be shown failing its health check, and 503 for the
first HEALTHY_AFTER seconds (default 0), as an app that warms up. With FORCE_HTTPS=true it redirects (301) every
request that nginx did not receive over HTTPS (X-Forwarded-Proto), as Rails' force_ssl or Django's
SECURE_SSL_REDIRECT do behind a proxy. /env/NAME also
answers the setting NAME as the running process sees it; every answer says which uid the process runs as. PUT
/uploads/NAME stores the request's body in the persistent folder uploads/ (201; 403 when the process may not write).
"""

import json
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # http.server's name
        if os.environ.get("FORCE_HTTPS") == "true" and self.headers.get("X-Forwarded-Proto") != "https":
            self.send_response(301)
            self.send_header("Location", f"https://{self.headers.get('Host', '')}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        setting = os.environ.get(self.path.removeprefix("/env/")) if self.path.startswith("/env/") else None
        answer = {"app": "hello", "greeting": os.environ.get("GREETING", ""), "path": self.path, "setting": setting}
        status = int(os.environ.get("HEALTHZ_STATUS", "200")) if self.path == "/healthz" else 200
        if self.path == "/healthz" and time.monotonic() - STARTED < float(os.environ.get("HEALTHY_AFTER", "0")):
            status = 503
        self._answer(status, answer)

    def do_PUT(self) -> None:  # http.server's name
        name = Path(self.path.removeprefix("/uploads/")).name
        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            (Path("uploads") / name).write_bytes(data)
        except OSError as exc:
            self._answer(403, {"app": "hello", "error": exc.strerror})
            return
        self._answer(201, {"app": "hello", "stored": name})

    def _answer(self, status: int, answer: dict[str, object]) -> None:
        body = json.dumps({**answer, "uid": os.getuid()}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  # http.server's signature
        pass


STARTED = time.monotonic()
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
