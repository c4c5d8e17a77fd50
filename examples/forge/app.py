"""A Gitea-like app for the sandbox: web pages on $PORT and its own SSH server on $SSH_LISTEN_PORT.

The "SSH server" only sends its identification line (as every SSH server does first), which is enough to show
that a connection to the host's SSH_PORT reaches the app.
"""

import json
import os
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer


class Web(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # http.server's name
        clone = f"ssh://git@{os.environ.get('SSH_DOMAIN', 'localhost')}:{os.environ.get('SSH_PORT', '22')}/"
        body = json.dumps({"app": "forge", "clone_url_prefix": clone, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  # http.server's signature
        pass


class Ssh(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"SSH-2.0-forge\r\n")


socketserver.ThreadingTCPServer.allow_reuse_address = True  # restart at once, as servers do
ssh = socketserver.ThreadingTCPServer(("127.0.0.1", int(os.environ.get("SSH_LISTEN_PORT", "2222"))), Ssh)
threading.Thread(target=ssh.serve_forever, daemon=True).start()
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Web).serve_forever()
