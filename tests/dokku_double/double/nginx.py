"""nginx-vhosts: each app's nginx.conf, rendered like Dokku's template, for the sandbox's nginx (if one runs).

Dokku's nginx listens on 80 and 443; the sandbox's listens on two loopback ports kept in
$DOKKU_LIB_ROOT/data/nginx-vhosts/sandbox.json ({"http": PORT, "https": PORT, "pid_file": PATH}).
"""

from __future__ import annotations

import json
from pathlib import Path

from double.env import Env, Fail, info1_quiet, privileged, verbose
from double.report import report

PROXY = """    location / {{
      proxy_pass http://{app}-{port};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $remote_addr;
    }}"""


def sandbox_nginx(env: Env) -> dict[str, object] | None:
    path = env.lib_root / "data" / "nginx-vhosts" / "sandbox.json"
    return json.loads(path.read_text()) if path.exists() else None


def port_maps(env: Env, app: str) -> list[str]:
    """The `ports-get` trigger (plugins/ports/functions.go getPortMaps, getDetectedPortMaps): the app's map, else
    the detected one, else http:80:5000; a detected map gains https:443 beside each http:80 once a certificate is
    installed."""
    maps = env.prop_list("ports", app, "map")
    if maps:
        return maps
    maps = env.prop_list("ports", app, "map-detected") or ["http:80:5000"]
    tls = env.app_dir(app) / "tls"
    if (tls / "server.crt").exists() and (tls / "server.key").exists():
        https = [f"https:443:{m.split(':')[2]}" for m in maps if m.startswith("http:80:")]
        maps = maps + https if https else [m.replace("http:", "https:", 1) for m in maps]
    return maps


def container_port(env: Env, app: str) -> int:
    """DOKKU_PORT, the PORT a new web container is given (plugins/scheduler-docker-local/bin/
    scheduler-deploy-process-container): the container port of the first mapping that is not udp."""
    ports = [int(m.split(":")[2]) for m in port_maps(env, app) if not m.startswith("udp:")]
    return ports[0] if ports else 5000


def _upstreams(app: str, maps: list[str], web: dict[str, object]) -> list[str]:
    """templates/nginx.conf.sigil's upstream blocks: one per container port of the map, each with the web
    listener's IP and *that* port, whether the container listens there or not. A process "container" has no address
    of its own: it listens on 127.0.0.1 at its own port, so a container port it was started with is rendered as that
    port, and any other as 127.0.0.1:PORT marked `down` (nginx answers 502, as the refused IP:PORT gives on Dokku)."""
    blocks = []
    for port in dict.fromkeys(m.split(":")[2] for m in maps):
        listens = int(port) == int(str(web.get("container_port", port)))
        server = f"server 127.0.0.1:{web['port']};" if listens else f"server 127.0.0.1:{port} down;"
        blocks.append(f"upstream {app}-{port} {{ {server} }}")
    return blocks


def proxy_type(env: Env, app: str) -> str:
    """The `proxy-type` trigger (plugins/proxy/functions.go getComputedProxyType): the app's, else the global, else
    nginx."""
    return env.prop_get("proxy", app, "type") or env.prop_get("proxy", "--global", "type") or "nginx"


def build_config(env: Env, app: str) -> None:
    """proxy-build-config: write $DOKKU_ROOT/APP/nginx.conf and reload nginx, when the app has a web listener. Every
    nginx-vhosts trigger that rebuilds (proxy-build-config, core-post-deploy, scheduler-post-deploy-process,
    post-proxy-ports-update, post-domains-update, post-certs-update) does nothing unless the app's proxy type is
    nginx."""
    if proxy_type(env, app) != "nginx":
        return
    nginx = sandbox_nginx(env)
    web_json = env.lib_root / "data" / "ps" / app / "web.json"
    if nginx is None or not web_json.exists() or not env.app_exists(app):
        return
    web = json.loads(web_json.read_text())
    app_dir = env.app_dir(app)
    (app_dir / "nginx.conf.d").mkdir(exist_ok=True)
    vhosts_file = app_dir / "VHOST"
    names = (" ".join(vhosts_file.read_text().split()) if vhosts_file.exists() else "") or app
    include = f"    include {app_dir}/nginx.conf.d/*.conf;"
    tls = app_dir / "tls"
    ssl = (tls / "server.crt").exists() and (tls / "server.key").exists()
    maps = [m for m in port_maps(env, app) if ssl or not m.startswith("https:")]  # https only with a certificate
    http = next((m.split(":")[2] for m in maps if m.startswith("http:")), None)
    https = next((m.split(":")[2] for m in maps if m.startswith("https:")), http)
    http = http or https  # an app mapped only to https still answers on the http port (the sandbox's)
    blocks = _upstreams(app, maps, web)
    if ssl:  # the port-80 block only redirects, but still includes the snippets (so ACME challenges are answered)
        redirect = f"    location / {{ return 301 https://$host:{nginx['https']}$request_uri; }}"
        blocks.append(
            f"server {{\n    listen 127.0.0.1:{nginx['http']};\n    server_name {names};\n{redirect}\n{include}\n}}"
        )
        blocks.append(
            f"server {{\n    listen 127.0.0.1:{nginx['https']} ssl;\n    server_name {names};\n"
            f"    ssl_certificate {tls}/server.crt;\n    ssl_certificate_key {tls}/server.key;\n"
            f"{PROXY.format(app=app, port=https)}\n{include}\n}}"
        )
    else:
        blocks.append(
            f"server {{\n    listen 127.0.0.1:{nginx['http']};\n    server_name {names};\n{PROXY.format(app=app, port=http)}\n{include}\n}}"
        )
    (app_dir / "nginx.conf").write_text("\n".join(blocks) + "\n")
    info1_quiet(f"Configuring {names.split()[0]}...(using built-in template)")
    reload(nginx)


def reload(nginx: dict[str, object]) -> None:
    """`systemctl reload nginx` through Dokku's sudoers rule (plugins/nginx-vhosts/install): the master is root's.
    It returns at once; nginx's workers take the new configuration a moment later, as on a server."""
    if Path(str(nginx["pid_file"])).exists():
        verbose("Reloading nginx")
        privileged("nginx-reload")


def remove_config(env: Env, app: str) -> None:
    (env.app_dir(app) / "nginx.conf").unlink(missing_ok=True)
    nginx = sandbox_nginx(env)
    if nginx is not None:
        reload(nginx)


def cmd_build_config(env: Env, args: list[str]) -> int:
    for app in env.apps() if args[:1] == ["--all"] else [env.verify_app(args[0] if args else None)]:
        build_config(env, app)
    return 0


PROXY_PROPERTIES = ("disabled", "proxy-port", "proxy-ssl-port", "type")
PROXY_GLOBAL_PROPERTIES = ("proxy-port", "proxy-ssl-port", "type")


def cmd_proxy_set(env: Env, args: list[str]) -> int:
    """plugins/proxy/subcommands.go CommandSet and common.CommandPropertySet: `proxy:set APP TYPE` (the old form)
    or `proxy:set APP|--global PROPERTY [VALUE]`; only a property, no trigger: nothing is rebuilt."""
    app, prop, value = [*args, "", "", ""][:3]
    if app != "--global":
        env.verify_app(app or None)
    if prop not in PROXY_PROPERTIES and not value:
        if ":" in prop:
            raise Fail("Consider using ports:set command or specifying a valid proxy")
        prop, value = "type", prop
    if app == "--global" and prop not in PROXY_GLOBAL_PROPERTIES:
        raise Fail("Property cannot be specified globally")
    env.command_property_set("proxy", app, prop, value, PROXY_PROPERTIES)
    return 0


def _proxy_fields(env: Env, app: str) -> dict[str, str]:
    """plugins/proxy/report.go, its type fields."""
    own, default = env.prop_get("proxy", app, "type"), env.prop_get("proxy", "--global", "type")
    return {"type": own, "global-type": default, "computed-type": proxy_type(env, app)}


COMMANDS = {
    "proxy:build-config": cmd_build_config,
    "nginx:build-config": cmd_build_config,
    "proxy:set": cmd_proxy_set,
    "proxy:report": lambda env, args: report(env, "proxy", _proxy_fields, args),
}
