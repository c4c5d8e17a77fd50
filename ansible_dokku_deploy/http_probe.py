"""One GET through the server's nginx for the health check: the domain as Host, and as TLS server name.

HTTP/1.1 by hand on a socket: the check needs the status and the start of the body, and http.client (with the
email package it parses headers with) would cost every deploy a tenth of its hooks' time to import.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

    from ansible_dokku_deploy.health import Route

TIMEOUT = 5.0
EXCERPT = 200  # bytes of the body kept for the message


def get(route: Route, context: ssl.SSLContext | None) -> tuple[int, str]:
    """Status and a short body excerpt, or (0, the connection error); context is needed for HTTPS."""
    request = (
        f"GET {route.path} HTTP/1.1\r\nHost: {route.domain}\r\nUser-Agent: ansible-deploy health check\r\n"
        "Connection: close\r\n\r\n"
    )
    try:
        with socket.create_connection((route.address, route.port), timeout=TIMEOUT) as plain:
            tls = context if route.scheme == "https" else None
            with tls.wrap_socket(plain, server_hostname=route.domain) if tls else plain as sock:
                sock.sendall(request.encode())
                answer = _read(sock)
    except OSError as exc:  # refused, timed out, TLS refused (ssl.SSLError is an OSError)
        return 0, str(exc) or type(exc).__name__
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or not status[0].startswith(b"HTTP/") or not status[1].isdigit():  # noqa: PLR2004
        return 0, f"not an HTTP answer: {head[:80]!r}"
    return int(status[1]), " ".join(body[:EXCERPT].decode("utf-8", "replace").split())


def _read(sock: socket.socket) -> bytes:
    """The head and the body's first EXCERPT bytes (or all there is); a server that keeps the connection open
    after a complete head is not waited for."""
    answer = b""
    while True:
        _, end, body = answer.partition(b"\r\n\r\n")
        if end and len(body) >= EXCERPT:
            return answer
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            if end:
                return answer
            raise
        if not chunk:
            return answer
        answer += chunk
