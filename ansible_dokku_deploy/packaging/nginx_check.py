"""Checks nginx snippets with the real `nginx -t`, inside server blocks shaped like Dokku's.

Also a command for the nginx role's copy validation: `python -m ansible_dokku_deploy.packaging.nginx_check FILE`.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from ansible_dokku_deploy import output
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.packaging import snippet_policy
from ansible_dokku_deploy.scratch import scratch_dir

# Dokku's template includes nginx.conf.d/*.conf in every server block, after its own `location /`:
# once in the port-80 block and once per https listener, so the check includes the snippets twice.
_SERVER = """
  server {{
    listen 127.0.0.1:{port};
    server_name app.invalid;
    access_log off;
    location / {{
      proxy_pass http://app-5000;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
    }}
    error_page 400 401 402 403 405 406 407 408 409 410 411 412 413 414 415 416 417 418 420 422 423 424 426
               428 429 431 444 449 450 451 /400-error.html;
    location /400-error.html {{ root {prefix}/errors; internal; }}
    include {snippets}/*.conf;
  }}
"""
_CONF = """
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
  client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy; fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
  access_log off;
  upstream app-5000 {{ server 127.0.0.1:5000; }}
{upstreams}{servers}
}}
"""
# nginx 1.18 puts its pid and thread ("17369#17369: ") before the message where newer ones do not.
_MESSAGE = re.compile(
    r"\[(?:emerg|crit|alert|error)\] (?:\d+#\d+: )?(?P<msg>.*?)(?: in (?P<file>\S+?):(?P<line>\d+))?$"
)
# Before 1.19.5 (Ubuntu 22.04 and Debian 11 ship 1.18) nginx has no -e and first opens its built-in error log,
# which the dokku user cannot: it says so and goes on, so that alert is no verdict on the snippets.
_ERROR_LOG_FLAG_SINCE = (1, 19, 5)
_DEFAULT_LOG_ALERT = "could not open error log file"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin:/sbin")


def check(snippets: Sequence[Path]) -> list[DeployError]:
    """Problems nginx finds in the snippets, each named nginx.conf.d/NAME:LINE; [] when they pass."""
    binary = nginx_binary()
    if binary is None:
        output.warn("nginx is not installed here: the nginx.conf.d/ snippets were not checked with nginx -t")
        return []
    with scratch_dir("nginx") as prefix:
        snippet_dir = prefix / "nginx.conf.d"
        snippet_dir.mkdir()
        for snippet in snippets:  # nginx includes *.conf: a validation temp file may lack the suffix
            shutil.copyfile(
                snippet, snippet_dir / (snippet.name if snippet.suffix == ".conf" else f"{snippet.name}.conf")
            )
        servers = "".join(_SERVER.format(port=port, prefix=prefix, snippets=snippet_dir) for port in (8080, 8443))
        # The app's own upstreams the snippets reach (`hello-5000`), which Dokku's template defines beside them.
        reached = sorted({name for s in snippets for name in snippet_policy.upstreams(s.read_text(errors="replace"))})
        declared = "".join(f"  upstream {name} {{ server 127.0.0.1:5000; }}\n" for name in reached)
        (prefix / "nginx.conf").write_text(_CONF.format(prefix=prefix, upstreams=declared, servers=servers))
        result = subprocess.run(  # noqa: S603  # argv list, no shell
            [binary, "-t", "-q", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), *error_log_args(binary, prefix)],
            capture_output=True,
            text=True,
            errors="replace",  # nginx quotes the pushed snippet's bytes, cut where its message ends
            check=False,
            timeout=30,
        )
        if result.returncode == 0:
            return []
        verdicts = [line for line in result.stderr.splitlines() if _DEFAULT_LOG_ALERT not in line]
        return [_problem(line, snippet_dir) for line in verdicts if _MESSAGE.search(line)][:1] or [
            DeployError(f"nginx -t failed: {result.stderr.strip()[:300]}", where="nginx.conf.d/")
        ]


def error_log_args(binary: str, prefix: Path) -> list[str]:
    """`-e PREFIX/error.log`, the log nginx writes before it reads the configuration, where nginx has the flag."""
    return ["-e", str(prefix / "error.log")] if takes_error_log_flag(_version_text(binary)) else []


@functools.cache
def _version_text(binary: str) -> str:
    """What `nginx -v` says ("nginx version: nginx/1.22.1"), on stderr."""
    result = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False, timeout=10)  # noqa: S603
    return result.stderr


def takes_error_log_flag(version_text: str) -> bool:
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", version_text)
    return found is None or tuple(map(int, found.groups())) >= _ERROR_LOG_FLAG_SINCE  # unknown: a current one


def _problem(line: str, snippet_dir: Path) -> DeployError:
    match = _MESSAGE.search(line)
    assert match is not None  # filtered by the caller
    message = match["msg"].replace(str(snippet_dir), "nginx.conf.d")
    file = match["file"]
    where = "nginx.conf.d/"
    if file and file.startswith(str(snippet_dir)):
        where = f"nginx.conf.d/{Path(file).name}:{match['line']}"
    return DeployError(
        f"nginx rejects it: {message}",
        where=where,
        hint="Snippets are included inside each of the app's server blocks, after Dokku's own `location /`.",
    )


def main(argv: list[str]) -> int:
    """Validate one snippet file (the nginx role's copy validation)."""
    problems = check([Path(argv[0])])
    for problem in problems:
        output.warn("\n".join(problem.lines()))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
