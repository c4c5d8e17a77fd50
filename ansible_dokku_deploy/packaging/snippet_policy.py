"""What an app's nginx snippet may do: shape requests and answers for the app itself, and nothing else.

A snippet runs in the server's nginx (as root for the master), inside the app's server blocks. It is read as nginx
reads it (nginx_syntax), and every directive must be on an allow-list; `*_pass` may reach only the app's own
upstream, which Dokku's nginx template names `APP-PORT` (plugins/nginx-vhosts/templates/nginx.conf.sigil).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable

from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.packaging.nginx_syntax import Directive, read

ALLOWED = frozenset(
    {
        # answers and their headers
        "add_header",
        "add_trailer",
        "expires",
        "etag",
        "if_modified_since",
        "charset",
        "charset_types",
        "override_charset",
        "source_charset",
        "default_type",
        "types",
        "server_tokens",
        "chunked_transfer_encoding",
        "error_page",
        "recursive_error_pages",
        "sub_filter",
        "sub_filter_once",
        "sub_filter_types",
        "sub_filter_last_modified",
        "gzip",
        "gzip_buffers",
        "gzip_comp_level",
        "gzip_disable",
        "gzip_http_version",
        "gzip_min_length",
        "gzip_proxied",
        "gzip_types",
        "gzip_vary",
        # routing within the app
        "location",
        "internal",
        "limit_except",
        "return",
        "rewrite",
        "break",
        "if",
        "set",
        # who may ask, how much, how fast
        "allow",
        "deny",
        "real_ip_header",
        "real_ip_recursive",
        "set_real_ip_from",
        "limit_rate",
        "limit_rate_after",
        "client_max_body_size",
        "client_body_buffer_size",
        "client_body_timeout",
        "client_header_timeout",
        "keepalive_timeout",
        "keepalive_requests",
        "send_timeout",
        # the app's own upstream
        "proxy_pass",
        "proxy_set_header",
        "proxy_hide_header",
        "proxy_pass_header",
        "proxy_ignore_headers",
        "proxy_read_timeout",
        "proxy_connect_timeout",
        "proxy_send_timeout",
        "proxy_buffering",
        "proxy_request_buffering",
        "proxy_buffer_size",
        "proxy_buffers",
        "proxy_busy_buffers_size",
        "proxy_max_temp_file_size",
        "proxy_http_version",
        "proxy_redirect",
        "proxy_intercept_errors",
        "proxy_cookie_domain",
        "proxy_cookie_path",
        "proxy_next_upstream",
        "proxy_next_upstream_tries",
        "proxy_next_upstream_timeout",
        "grpc_pass",
        "grpc_set_header",
        "grpc_hide_header",
        "grpc_pass_header",
        "grpc_read_timeout",
        "grpc_connect_timeout",
        "grpc_send_timeout",
        "grpc_buffer_size",
        "grpc_intercept_errors",
    }
)
# The scheme each allowed `*_pass` speaks to the app's upstream; fastcgi, uwsgi, scgi and memcached are not the
# app's protocol there, so their `*_pass` is not allowed at all.
PASS_SCHEMES = {"proxy_pass": "http", "grpc_pass": "grpc"}
_FILES = "it reads or writes files on the host"
_CODE = "it runs code inside nginx"
_CLAIMS = "it claims hostnames or ports, which belong to Dokku's domains and ports (env.yml's `domains` and `port`)"
_UNLISTED = "it is not one of the directives a snippet may use"
_FILE_NAMES = frozenset({"alias", "root", "include", "load_module", "access_log", "error_log", "open_log_file_cache"})
_FILE_SUFFIXES = ("_certificate", "_certificate_key", "_crl", "_dhparam", "_file", "_path", "_store", "_key")
_CODE_PREFIXES = ("perl", "lua_", "js_", "njs_")
_FILE_TESTS = frozenset({"-f", "!-f", "-d", "!-d", "-e", "!-e", "-x", "!-x"})
_APP_NAME = r"[a-z0-9][a-z0-9.-]*"
_HINT = "A snippet may use: " + ", ".join(sorted(ALLOWED)) + "."


def check(text: str, where: str, *, app: str = "", ports: Iterable[int] = ()) -> list[DeployError]:
    """Every directive of a snippet that is not allowed, with its line. The app's upstreams are `app`-PORT for
    each of `ports`; without `app` (a check before the app is known) any app's name is taken for its own."""
    ports = sorted(ports)
    upstream = re.compile(rf"{re.escape(app) if app else _APP_NAME}-(?:{'|'.join(map(str, ports))})") if ports else None
    problems: list[DeployError] = []
    try:
        for directive in read(text, where):
            problem = _problem(directive, where, upstream)
            if problem is not None:
                problems.append(problem)
    except DeployError as unreadable:
        problems.append(unreadable)
    return problems


def upstreams(text: str) -> set[str]:
    """The upstream names a snippet's `*_pass` directives reach; none when nginx could not read it."""
    try:
        return {_split(d.args[0])[1] for d in read(text, "") if d.name in PASS_SCHEMES and d.args}
    except DeployError:
        return set()


def _problem(directive: Directive, where: str, upstream: re.Pattern[str] | None) -> DeployError | None:
    name, at = directive.name, f"{where}:{directive.line}"
    if name not in ALLOWED:
        close = difflib.get_close_matches(name, ALLOWED, n=1)
        return DeployError(
            f"directive `{name}` is not allowed in a snippet: {_reason(name)}",
            where=at,
            hint=(f"Did you mean `{close[0]}`? " if close else "") + _HINT,
        )
    if name in PASS_SCHEMES:
        return _pass_problem(directive, at, upstream)
    if name == "set" and any("unix:" in arg.lower() for arg in directive.args):
        return DeployError(
            "directive `set` may not hold a unix socket address (`unix:`)",
            where=at,
            hint="Snippets reach only the app's own upstream, never a socket on the host.",
        )
    if name == "if" and _FILE_TESTS.intersection(_condition(directive.args)):
        return DeployError(
            f"directive `if` may not test files on the host ({' '.join(directive.args)})",
            where=at,
            hint="Compare variables (`$request_method`, `$http_...`) instead: the host's files are not the app's.",
        )
    return None


def _condition(args: tuple[str, ...]) -> list[str]:
    """An `if`'s condition as nginx's rewrite module reads it: the `(` and `)` around it taken off."""
    words = list(args)
    if words and words[0].startswith("("):
        words[0] = words[0][1:]
    if words and words[-1].endswith(")"):
        words[-1] = words[-1][:-1]
    return [w for w in words if w]


def _reason(name: str) -> str:
    if name in ("server_name", "listen"):
        return _CLAIMS
    if name.startswith(_CODE_PREFIXES) or "_by_lua" in name:
        return _CODE
    if name in _FILE_NAMES or name.endswith(_FILE_SUFFIXES):
        return _FILES
    return _UNLISTED


def _pass_problem(directive: Directive, at: str, upstream: re.Pattern[str] | None) -> DeployError | None:
    scheme = PASS_SCHEMES[directive.name]
    target = " ".join(directive.args)
    given_scheme, host, _ = _split(target)
    own = upstream is not None and upstream.fullmatch(host) is not None
    if len(directive.args) == 1 and "$" not in target and given_scheme == scheme and own:
        return None
    reason = _pass_reason(target, host) or (
        "it is not the app's own upstream" if upstream else "env.yml sets no `port`, so the app's upstream is unknown"
    )
    return DeployError(
        f"directive `{directive.name} {target}` is not allowed in a snippet: {reason}",
        where=at,
        hint=f"`{directive.name}` may only reach the app's own upstream, as Dokku names it: {scheme}://APP-PORT "
        "(the app's name and env.yml's `port`, e.g. http://hello-5000), with an optional path and no variables.",
    )


_ADDRESS_KINDS = (
    ("is_loopback", "it reaches the host itself (a loopback address)"),
    ("is_link_local", "it reaches a link-local address (the cloud metadata service lives there)"),
    ("is_unspecified", "it reaches the unspecified address, which is the host itself"),
)


def _pass_reason(target: str, host: str) -> str | None:
    """Why a `*_pass` target is dangerous, when it says so itself."""
    if "unix:" in target.lower():
        return "it reaches a unix socket on the host"
    if "$" in target:
        return "its target holds a variable, so nginx would decide at each request where it goes"
    address = _address(host)
    return next((reason for kind, reason in _ADDRESS_KINDS if address and getattr(address, kind)), None)


def _split(target: str) -> tuple[str, str, str]:
    """scheme, host (with any port) and the rest of a `*_pass` target."""
    scheme, sep, rest = target.partition("://")
    if not sep:
        scheme, rest = "", target
    host, slash, path = rest.partition("/")
    return scheme.lower(), host, slash + path


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    name = host[1 : host.index("]")] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0]
    if name.lower() == "localhost" or name.lower().endswith(".localhost"):
        return ipaddress.ip_address("127.0.0.1")
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None
