"""notes: answers whether it has its database (DATABASE_URL) and its storage folder; /healthz says ok."""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # http.server's name
        url = urlsplit(os.environ.get("DATABASE_URL", ""))
        body = {"database": f"{url.scheme}://{url.hostname}:{url.port}{url.path}" if url.scheme else None}
        data = json.dumps({"ok": True} if self.path == "/healthz" else body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)


HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
