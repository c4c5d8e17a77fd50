"""One GET through the server's nginx for the health check: the domain as Host, and as TLS server name."""

from __future__ import annotations

import http.client
import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ansible_dokku_deploy.health import Route


class _Https(http.client.HTTPSConnection):
    """HTTPS to an address, with the domain as the TLS server name, as a browser reaching the vhost would."""

    def __init__(self, route: Route, context: ssl.SSLContext, timeout: float) -> None:
        super().__init__(route.address, route.port, timeout=timeout, context=context)
        self._server_name = route.domain
        self._tls = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls.wrap_socket(self.sock, server_hostname=self._server_name)


def get(route: Route, context: ssl.SSLContext) -> tuple[int, str]:
    """Status and a short body excerpt, or (0, the connection error)."""
    conn: http.client.HTTPConnection = (
        _Https(route, context, 5)
        if route.scheme == "https"
        else http.client.HTTPConnection(route.address, route.port, timeout=5)
    )
    try:
        conn.request("GET", route.path, headers={"Host": route.domain, "User-Agent": "ansible-deploy health check"})
        answer = conn.getresponse()
        return answer.status, " ".join(answer.read(200).decode("utf-8", "replace").split())
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        return 0, str(exc) or type(exc).__name__
    finally:
        conn.close()
