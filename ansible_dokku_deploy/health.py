"""Health verification: the new container's health path before the switch (check-deploy), then through the app's
own vhost on the server's nginx, per domain, once nginx serves the new container (post-deploy)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku, check_app_name
from ansible_dokku_deploy.errors import ProvisioningError
from ansible_dokku_deploy.outbox import OUTBOX
from ansible_dokku_deploy.packaging import Packaging
from ansible_dokku_deploy.settings import GLOBAL, Store
from ansible_dokku_deploy.staging import write_private

if TYPE_CHECKING:
    import ssl

RECORD = "health.json"
GATE = "gate.json"  # what check-deploy saw, for the route check of the same deploy
_BEFORE_SWITCH = (  # what a failed check says, and its hint
    "health check failed before the switch",
    "The old release keeps serving; fix the app (or env.yml's monitoring.healthcheck) and deploy again.",
)
_AFTER_SWITCH = (
    "health check failed",
    "The new release is serving; fix the app (or env.yml's monitoring.healthcheck), deploy again.",
)


@dataclass(frozen=True)
class Route:
    """GET scheme://domain/path, sent to the server's nginx at address:port with the domain as Host (and SNI).
    With forwarded_port, sent to the app's container itself, in plain HTTP, with the headers nginx adds to every
    request it passes on (X-Forwarded-Proto: scheme, X-Forwarded-Port, X-Forwarded-For: plugins/nginx-vhosts/
    templates/nginx.conf.sigil in dokku/dokku), so the app sees the request as it will see its traffic."""

    scheme: str
    domain: str
    path: str
    address: str
    port: int
    forwarded_port: int = 0

    def __str__(self) -> str:
        return f"{self.scheme}://{self.domain}{self.path}"


def health_path(packaging: Packaging) -> str:
    return str((packaging.spec.get("monitoring") or {}).get("healthcheck", ""))


def routes(dokku: Dokku, app: str, packaging: Packaging) -> list[Route]:
    path = health_path(packaging)
    if not path:
        return []
    store = Store(dokku)
    https = (dokku.app_dir(app) / "tls" / "server.crt").exists()  # Dokku serves HTTPS once a certificate is in
    port = store.computed_int(app, "healthcheck-https-port" if https else "healthcheck-http-port")
    address = store.computed(app, "healthcheck-address")
    scheme = "https" if https else "http"
    return [Route(scheme, d, path, address, port) for d in packaging.spec.get("domains", [])]


def gate(dokku: Dokku, app: str, packaging: Packaging, release: str, *, address: str, port: str, https: bool) -> None:
    """check-deploy: the new web container's health path, asked of the container itself before Dokku switches
    traffic to it, answers 2xx within healthcheck-timeout, or the deploy fails and the old release keeps serving.
    It is asked as nginx will pass it the app's traffic: over HTTPS when the app serves HTTPS after this deploy
    (`https`: a certificate is in, or the packaging gets one in post-deploy), so that an app that redirects plain
    HTTP passes, as Dokku's own check does for an app with a certificate (plugins/scheduler-docker-local/
    check-deploy). Skipped with `checks:skip`, as Dokku's own check is. Also notes what the route check after the
    switch needs to know it is answered by this container, and by this deploy."""
    path = health_path(packaging)
    if not path:
        return
    if _web_checks(dokku, app, "skipped"):
        output.step(f"Zero downtime checks are skipped for {app} (checks:skip): no health check before the switch")
        return
    store = Store(dokku)
    record = {"release": release, "upstream": f"{address}:{port}", "deploy": deploy_identity()}
    write_private(dokku.data_dir(app) / GATE, json.dumps(record).encode())
    domain = (packaging.spec.get("domains") or [app])[0]
    scheme = "https" if https else "http"
    public_port = store.computed_int(app, f"healthcheck-{scheme}-port")  # where nginx takes the app's traffic
    route = Route(scheme, domain, path, address, int(port), forwarded_port=public_port)
    try:
        _probe(dokku, app, [route], None, time.monotonic() + _timeout(store, app), before_switch=True)
    except ProvisioningError:
        (dokku.data_dir(app) / GATE).unlink(missing_ok=True)
        raise


def verify(dokku: Dokku, app: str, packaging: Packaging, release: str) -> None:
    """After the switch, every domain's health path answers 2xx through nginx within healthcheck-timeout (retries
    with backoff), or the deploy fails. It first waits until nginx serves the container the gate checked, so
    that the old release, still running for wait-to-retire, cannot answer for the new one."""
    gate_record = _take_gate(dokku, app)
    targets = routes(dokku, app, packaging)
    if not targets:
        if health_path(packaging):
            output.warn(f"{app} declares a health check but no domains: there is no route to check")
        return
    store = Store(dokku)
    deadline = time.monotonic() + _timeout(store, app)
    if gate_record.get("release") == release and gate_record.get("deploy") == deploy_identity():
        _wait_for_nginx(dokku, app, store, gate_record, deadline)
    else:
        why, what = why_no_gate(dokku, app)
        output.step(f"No check ran before the switch ({why})")
        output.detail(what)
    context = None  # ssl and its CA bundle take longer than a probe: only for HTTPS
    if any(route.scheme == "https" for route in targets):
        import ssl  # noqa: PLC0415

        context = ssl.create_default_context(cafile=store.computed(app, "healthcheck-ca-file") or None)
    _probe(dokku, app, targets, context, deadline, before_switch=False)


def why_no_gate(dokku: Dokku, app: str) -> tuple[str, str]:
    """Why this deploy's gate did not run, and what the route check then stands for. The gate runs for every new
    web container unless checks are disabled (no check-deploy at all) or skipped; a deploy that started no web
    container (`ps:restart APP worker`, scaling other process types, web scaled to 0) has nothing to gate."""
    if _web_checks(dokku, app, "disabled"):
        return (
            "zero downtime is off: checks:disable",
            "the old release is already gone: the route check is the only check of this one",
        )
    if _web_checks(dokku, app, "skipped"):
        return "checks are skipped: checks:skip", "the new release serves already: the route check is its only check"
    return (
        "this deploy started no web container: only other process types restarted or scaled, or web is scaled to 0",
        "the route check asks the web container that serves",
    )


def _web_checks(dokku: Dokku, app: str, state: str) -> bool:
    """Whether the app's web processes have their zero downtime checks `disabled` or `skipped`: Dokku's property
    lists (`_all_` or process types; plugins/checks/functions is_app_proctype_checks_disabled and _skipped)."""
    try:
        listed = (dokku.lib_root / "config" / "checks" / check_app_name(app) / state).read_text().strip().split(",")
    except OSError:
        return False
    return "_all_" in listed or "web" in listed


def deploy_identity() -> str:
    """The deploy this hook belongs to: Dokku's DOKKU_PID (the `dokku` command's pid, inherited by every trigger
    of the command: the `dokku` script) and that process's start time, so a pid used again is another deploy."""
    pid = os.environ.get("DOKKU_PID", "")
    try:
        started = Path(f"/proc/{int(pid)}/stat").read_text().rpartition(")")[2].split()[19]
    except (OSError, ValueError, IndexError):
        started = ""
    return f"{pid}:{started}"


def _wait_for_nginx(dokku: Dokku, app: str, store: Store, gate_record: dict[str, Any], deadline: float) -> None:
    upstream = str(gate_record["upstream"])
    conf = dokku.app_dir(app) / "nginx.conf"
    if not conf.exists():  # another proxy (proxy:set), or none: nothing tells which release answers
        output.detail(f"{app} is not served by Dokku's nginx: the route check cannot wait for the switch")
        return
    output.step(f"Waiting for nginx to send {app}'s traffic to the new container ({upstream})")
    try:
        seen = await_switch(conf, upstream, _pid_file(store), deadline)
    except ProvisioningError as stuck:
        _record(dokku, app, f"failed: {stuck.message}")
        raise
    if seen:
        output.detail("nginx serves the new container")
    else:
        output.detail("nginx's workers could not be seen (nginx-pid-file): its reload was not waited for")


def _pid_file(store: Store) -> Path:
    return Path(store.computed(GLOBAL, "nginx-pid-file"))


def _timeout(store: Store, app: str) -> int:
    return store.computed_int(app, "healthcheck-timeout")


def _probe(
    dokku: Dokku,
    app: str,
    targets: list[Route],
    context: ssl.SSLContext | None,
    deadline: float,
    *,
    before_switch: bool,
) -> None:
    """GET each route until it answers 2xx; past the deadline, record and raise what was asked and what came back
    (before the switch, the gate records only a failure: the route check after it has the last word)."""
    from ansible_dokku_deploy.http_probe import get  # noqa: PLC0415  # only when probing

    failed, hint = _BEFORE_SWITCH if before_switch else _AFTER_SWITCH
    for route in targets:
        where = f"{'at the new container, ' if before_switch else 'through '}{route.address}:{route.port}"
        output.step(f"Checking {route} ({where})")
        delay = 0.25
        while True:
            status, body, location = get(route, context)
            if 200 <= status < 300:  # noqa: PLR2004
                output.detail(f"{status} OK")
                break
            if time.monotonic() + delay > deadline:
                answer = f"answered {status}: {body[:120]!r}" if status else f"could not be reached: {body}"
                if location:
                    answer = f"answered {status}, redirecting to {_printable(location)}"
                _record(dokku, app, f"failed: {route} {answer}")
                why, fix = _redirect(app, route, location) if location else ("", hint)
                raise ProvisioningError(f"{failed}: GET {route} ({where}) {answer}{why}", hint=fix)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    if not before_switch:
        _record(dokku, app, "succeeded")


def _redirect(app: str, route: Route, location: str) -> tuple[str, str]:
    """What a redirect from the health path means, and what to do: an app that sends plain HTTP to HTTPS while
    nginx serves it over plain HTTP cannot be served at all; any other redirect is the path's own."""
    if route.scheme == "http" and location.lower().startswith("https:"):
        why = f": the app redirects plain HTTP to HTTPS, and nginx serves {app} over plain HTTP (no certificate)"
        fix = (
            "Either give the app a certificate (tls: acme in env.yml, with the server's ACME settings, or "
            f"`dokku certs:add {app}`), or turn off the app's HTTPS redirect, then deploy again."
        )
        return why, fix
    return (
        ": the health path must answer 2xx itself",
        "Point env.yml's monitoring.healthcheck at a path the app answers without a redirect, then deploy again.",
    )


def _printable(text: str) -> str:
    """An answer's header as it may be shown: no control characters (the app chose it)."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _take_gate(dokku: Dokku, app: str) -> dict[str, Any]:
    """What the gate of this deploy noted, read once: a later deploy without a gate must not find it."""
    path = dokku.data_dir(app) / GATE
    try:
        record: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    path.unlink(missing_ok=True)
    return record


def await_switch(conf: Path, upstream: str, pid_file: Path, deadline: float) -> bool:
    """Until the app's nginx.conf sends traffic to the gated container and every worker of nginx that takes
    connections started after nginx.conf was last written: nginx reloads asynchronously (old workers serve until
    the new ones start), and workers a reload started before the write (another app's deploy, between the gate and
    this app's switch) serve the old configuration. False when nginx's workers cannot be seen (pid file): then
    only the configuration is waited for."""
    while True:
        routed = conf.exists() and upstream in conf.read_text()
        serving = nginx_workers(pid_file)
        stale = []
        if routed and serving is not None:
            written = _ticks_since_boot(conf.stat().st_mtime)
            stale = [w for w in serving if w[1] < written]
        if routed and not stale:
            return serving is not None
        if time.monotonic() > deadline:
            why = (
                f"{conf} does not name {upstream}"
                if not routed
                else f"{len(stale)} of its workers started before {conf.name} was written and serve the old one"
            )
            raise ProvisioningError(
                f"nginx did not switch to the new container within the health check's timeout: {why}",
                hint="Check nginx (`nginx -t`, its error log) and deploy again.",
            )
        time.sleep(0.05)


def _ticks_since_boot(epoch: float) -> float:
    """A wall-clock time as /proc/PID/stat counts a process's start: clock ticks since boot, less one tick (the
    start time is cut to whole ticks, so a worker started just after the time may show the tick before it)."""
    since_boot = time.clock_gettime(time.CLOCK_BOOTTIME) - (time.time() - epoch)
    return since_boot * os.sysconf("SC_CLK_TCK") - 1


def nginx_workers(pid_file: Path) -> list[list[int]] | None:
    """nginx's workers that take connections, as [pid, start time] pairs (a pid may be reused, the pair is not);
    None when the master cannot be found from its pid file. Workers shutting down after a reload are left out."""
    try:
        master = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[1]) != master or b"shutting down" in (stat.parent / "cmdline").read_bytes():
                continue
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        workers.append([int(stat.parent.name), int(fields[19])])  # fields[19]: starttime, in clock ticks
    return sorted(workers)


def _record(dokku: Dokku, app: str, result: str) -> None:
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write_private(dokku.data_dir(app) / RECORD, json.dumps({"at": at, "result": result}).encode())
    OUTBOX.post_metrics()


def last(dokku: Dokku, app: str) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads((dokku.data_dir(app) / RECORD).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return loaded
