"""nginx-vhosts: each app's nginx.conf, rendered like Dokku's template, for the sandbox's nginx (if one runs).

Dokku's nginx listens on 80 and 443; the sandbox's listens on two loopback ports kept in
$DOKKU_LIB_ROOT/data/nginx-vhosts/sandbox.json ({"http": PORT, "https": PORT, "pid_file": PATH}).
"""

from __future__ import annotations

import json
from pathlib import Path

from double.env import Env, info1_quiet, privileged, verbose

PROXY = """    location / {{
      proxy_pass http://{app}-web;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $remote_addr;
    }}"""


def sandbox_nginx(env: Env) -> dict[str, object] | None:
    path = env.lib_root / "data" / "nginx-vhosts" / "sandbox.json"
    return json.loads(path.read_text()) if path.exists() else None


def build_config(env: Env, app: str) -> None:
    """proxy-build-config: write $DOKKU_ROOT/APP/nginx.conf and reload nginx, when the app has a web listener."""
    nginx = sandbox_nginx(env)
    web = env.lib_root / "data" / "ps" / app / "web.json"
    if nginx is None or not web.exists() or not env.app_exists(app):
        return
    port = json.loads(web.read_text())["port"]
    app_dir = env.app_dir(app)
    (app_dir / "nginx.conf.d").mkdir(exist_ok=True)
    vhosts_file = app_dir / "VHOST"
    names = (" ".join(vhosts_file.read_text().split()) if vhosts_file.exists() else "") or app
    include = f"    include {app_dir}/nginx.conf.d/*.conf;"
    tls = app_dir / "tls"
    ssl = (tls / "server.crt").exists() and (tls / "server.key").exists()
    blocks = [f"upstream {app}-web {{ server 127.0.0.1:{port}; }}"]
    if ssl:  # the port-80 block only redirects, but still includes the snippets (so ACME challenges are answered)
        redirect = f"    location / {{ return 301 https://$host:{nginx['https']}$request_uri; }}"
        blocks.append(
            f"server {{\n    listen 127.0.0.1:{nginx['http']};\n    server_name {names};\n{redirect}\n{include}\n}}"
        )
        blocks.append(
            f"server {{\n    listen 127.0.0.1:{nginx['https']} ssl;\n    server_name {names};\n"
            f"    ssl_certificate {tls}/server.crt;\n    ssl_certificate_key {tls}/server.key;\n"
            f"{PROXY.format(app=app)}\n{include}\n}}"
        )
    else:
        blocks.append(
            f"server {{\n    listen 127.0.0.1:{nginx['http']};\n    server_name {names};\n{PROXY.format(app=app)}\n{include}\n}}"
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


COMMANDS = {"proxy:build-config": cmd_build_config, "nginx:build-config": cmd_build_config}
