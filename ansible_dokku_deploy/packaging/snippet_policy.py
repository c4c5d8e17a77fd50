"""What an app's nginx snippet may not do: touch host files, run code inside nginx, or reach host unix sockets.

A snippet runs in the server's nginx (as root for the master): anything a pusher puts there must stay within
shaping requests and answers for the app itself.
"""

from __future__ import annotations

import re

from ansible_dokku_deploy.errors import DeployError

_FILES = "it reads or writes files on the host"
_CODE = "it runs code inside nginx"
_SOCKET = "it reaches a unix socket on the host"
FILE_DIRECTIVES = frozenset(
    (
        "alias",
        "root",
        "include",
        "load_module",
        "auth_basic_user_file",
        "access_log",
        "error_log",
        "open_log_file_cache",
        "ssl_certificate",
        "ssl_certificate_key",
        "ssl_trusted_certificate",
        "ssl_client_certificate",
        "ssl_crl",
        "ssl_dhparam",
        "ssl_password_file",
        "ssl_stapling_file",
        "ssl_session_ticket_key",
        "client_body_temp_path",
        "proxy_temp_path",
        "fastcgi_temp_path",
        "uwsgi_temp_path",
        "scgi_temp_path",
        "proxy_cache_path",
        "fastcgi_cache_path",
        "uwsgi_cache_path",
        "scgi_cache_path",
        "proxy_store",
        "fastcgi_store",
        "uwsgi_store",
        "scgi_store",
        "geoip_country",
        "geoip_city",
        "geoip_org",
    )
)
_CODE_PREFIXES = ("perl", "lua_", "js_", "njs_")
_TOKEN = re.compile(r"\"(?:\\.|[^\"])*\"|'(?:\\.|[^'])*'|[;{}]|[^\s;{}\"']+")


def _reason(name: str, args: list[str]) -> str | None:
    if name in FILE_DIRECTIVES:
        return _FILES
    if name.startswith(_CODE_PREFIXES) or "_by_lua" in name:
        return _CODE
    if name.endswith("_pass") and any("unix:" in a for a in args):
        return _SOCKET
    return None


def check(text: str, where: str) -> list[DeployError]:
    """Every forbidden directive in a snippet, with its line."""
    problems = []
    statement: list[tuple[str, int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for token in _TOKEN.findall(line):
            if token.startswith("#"):
                break
            if token in (";", "{", "}"):
                if statement:
                    (name, at), args = statement[0], [t for t, _ in statement[1:]]
                    reason = _reason(name, args)
                    if reason:
                        problems.append(
                            DeployError(
                                f"directive `{name}` is not allowed in a snippet: {reason}",
                                where=f"{where}:{at}",
                                hint="Snippets shape requests and answers; files and code belong in the app.",
                            )
                        )
                statement = []
                continue
            statement.append((token, number))
    return problems
