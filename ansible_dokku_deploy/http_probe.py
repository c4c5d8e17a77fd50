"""One GET through the server's nginx for the health check: the domain as Host, and as TLS server name.

HTTP/1.1 by hand on a socket: the check needs the status and the start of the body, and http.client (with the
email package it parses headers with) would cost every deploy a tenth of its hooks' time to import.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import ssl

    from ansible_dokku_deploy.health import Route

TIMEOUT = 5.0
EXCERPT = 200  # bytes of the body kept for the message


class Answer(NamedTuple):
    status: int  # 0: no HTTP answer, body then says why
    body: str  # a short excerpt
    location: str = ""  # a redirect's Location header


def get(route: Route, context: ssl.SSLContext | None) -> Answer:
    """Status, a short body excerpt and the Location, or (0, the connection error); context is needed for HTTPS
    through nginx. A route to the app's container itself (forwarded_port) is asked in plain HTTP with the headers
    nginx would add."""
    lines = [f"GET {route.path} HTTP/1.1", f"Host: {route.domain}", "User-Agent: ansible-deploy health check"]
    tls = context if route.scheme == "https" and not route.forwarded_port else None
    try:
        with socket.create_connection((route.address, route.port), timeout=TIMEOUT) as plain:
            if route.forwarded_port:  # nginx's $scheme, $server_port and $remote_addr (here, this check's address)
                lines += [
                    f"X-Forwarded-Proto: {route.scheme}",
                    f"X-Forwarded-Port: {route.forwarded_port}",
                    f"X-Forwarded-For: {plain.getsockname()[0]}",
                ]
            request = "\r\n".join([*lines, "Connection: close", "", ""]).encode()
            with tls.wrap_socket(plain, server_hostname=route.domain) if tls else plain as sock:
                sock.sendall(request)
                answer = _read(sock)
    except OSError as exc:  # refused, timed out, TLS refused (ssl.SSLError is an OSError)
        return Answer(0, str(exc) or type(exc).__name__)
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *fields = head.split(b"\r\n")
    status = status_line.split()
    if len(status) < 2 or not status[0].startswith(b"HTTP/") or not status[1].isdigit():  # noqa: PLR2004
        return Answer(0, f"not an HTTP answer: {head[:80]!r}")
    location = next((v.strip() for k, _, v in (f.partition(b":") for f in fields) if k.lower() == b"location"), b"")
    excerpt = " ".join(body[:EXCERPT].decode("utf-8", "replace").split())
    return Answer(int(status[1]), excerpt, location[:200].decode("utf-8", "replace"))


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
