"""Post-deploy health verification: the app's health path, through its own vhost on the server's nginx, per domain."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import ProvisioningError
from ansible_dokku_deploy.packaging import Packaging
from ansible_dokku_deploy.settings import Store
from ansible_dokku_deploy.staging import write_private

RECORD = "health.json"


@dataclass(frozen=True)
class Route:
    """GET scheme://domain/path, sent to the server's nginx at address:port with the domain as Host (and SNI)."""

    scheme: str
    domain: str
    path: str
    address: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.domain}{self.path}"


def routes(dokku: Dokku, app: str, packaging: Packaging) -> list[Route]:
    monitoring = packaging.spec.get("monitoring") or {}
    if "healthcheck" not in monitoring:
        return []
    store = Store(dokku)
    https = (dokku.app_dir(app) / "tls" / "server.crt").exists()  # Dokku serves HTTPS once a certificate is in
    port = store.computed_int(app, "healthcheck-https-port" if https else "healthcheck-http-port")
    address = store.computed(app, "healthcheck-address")
    scheme = "https" if https else "http"
    return [Route(scheme, d, monitoring["healthcheck"], address, port) for d in packaging.spec.get("domains", [])]


def verify(dokku: Dokku, app: str, packaging: Packaging) -> None:
    """Every domain's health path answers 2xx within healthcheck-timeout (retries with backoff), or the deploy fails."""
    targets = routes(dokku, app, packaging)
    if not targets:
        if (packaging.spec.get("monitoring") or {}).get("healthcheck"):
            output.warn(f"{app} declares a health check but no domains: there is no route to check")
        return
    from ansible_dokku_deploy.http_probe import get  # noqa: PLC0415  # only when probing

    store = Store(dokku)
    context = None  # ssl and its CA bundle take longer than a probe: only for HTTPS
    if any(route.scheme == "https" for route in targets):
        import ssl  # noqa: PLC0415

        context = ssl.create_default_context(cafile=store.computed(app, "healthcheck-ca-file") or None)
    deadline = time.monotonic() + store.computed_int(app, "healthcheck-timeout")
    for route in targets:
        output.step(f"Checking {route} (through {route.address}:{route.port})")
        delay = 0.25
        while True:
            status, body = get(route, context)
            if 200 <= status < 300:  # noqa: PLR2004
                output.detail(f"{status} OK")
                break
            if time.monotonic() + delay > deadline:
                answer = f"answered {status}: {body[:120]!r}" if status else f"could not be reached: {body}"
                _record(dokku, app, f"failed: {route} {answer}")
                raise ProvisioningError(
                    f"health check failed: GET {route} (through {route.address}:{route.port}) {answer}",
                    hint="The new release is serving; fix the app (or env.yml's monitoring.healthcheck), deploy again.",
                )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    _record(dokku, app, "succeeded")


def _record(dokku: Dokku, app: str, result: str) -> None:
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write_private(dokku.data_dir(app) / RECORD, json.dumps({"at": at, "result": result}).encode())


def last(dokku: Dokku, app: str) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads((dokku.data_dir(app) / RECORD).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return loaded
