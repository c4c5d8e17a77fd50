"""The gate's request to the container, what the route check says when no gate ran before the switch, and which
deploy a gate's record belongs to."""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.health import Route, _printable, deploy_identity, why_no_gate
from ansible_dokku_deploy.http_probe import get


def _checks(tmp_path: Path, **lists: str) -> Dokku:
    """Dokku's checks properties for app `shop` (config/checks/APP/disabled|skipped, as checks:* write them)."""
    dokku = Dokku(root=tmp_path / "home", lib_root=tmp_path / "lib")
    folder = dokku.lib_root / "config" / "checks" / "shop"
    folder.mkdir(parents=True)
    for key, value in lists.items():
        (folder / key).write_text(value)
    return dokku


@pytest.mark.parametrize(
    ("lists", "reason"),
    [
        ({"disabled": "_all_"}, "zero downtime is off: checks:disable"),
        ({"disabled": "worker,web"}, "zero downtime is off: checks:disable"),
        ({"skipped": "_all_"}, "checks are skipped: checks:skip"),
        ({"skipped": "web"}, "checks are skipped: checks:skip"),
        ({"disabled": "worker"}, "this deploy started no web container"),  # ps:restart shop worker
        ({}, "this deploy started no web container"),  # worker-only scaling, web scaled to 0
    ],
)
def test_the_reason_no_gate_ran_is_the_one_that_applies(tmp_path: Path, lists: dict[str, str], reason: str) -> None:
    why, _what = why_no_gate(_checks(tmp_path, **lists), "shop")
    assert why.startswith(reason), why


def test_a_deploy_is_the_dokku_command_that_runs_it_and_not_a_later_one_with_its_pid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOKKU_PID", str(os.getpid()))
    mine = deploy_identity()
    assert mine.startswith(f"{os.getpid()}:") and mine != f"{os.getpid()}:"  # with this process's start time
    monkeypatch.setenv("DOKKU_PID", str(os.getppid()))
    assert deploy_identity() != mine


def test_the_gate_asks_the_container_with_the_headers_nginx_adds_and_shows_a_redirect_safely() -> None:
    """A container is asked in plain HTTP as nginx passes it the app's traffic (nginx.conf.sigil: Host,
    X-Forwarded-Proto $scheme, X-Forwarded-Port $server_port, X-Forwarded-For $remote_addr); the Location of its
    answer is the app's to choose, and is shown without control characters."""
    seen: dict[str, str] = {}

    class Redirecting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's name
            seen.update({k.lower(): v for k, v in self.headers.items()})
            self.send_response(301)
            self.send_header("Location", "https://shop.example.test/\x1b[2Jhealthz")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002  # http.server's signature
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.handle_request, daemon=True).start()
    route = Route("https", "shop.example.test", "/healthz", "127.0.0.1", server.server_port, forwarded_port=443)
    try:
        answer = get(route, None)
    finally:
        server.server_close()
    assert answer.status == 301
    assert seen["host"] == "shop.example.test" and seen["x-forwarded-proto"] == "https"
    assert seen["x-forwarded-port"] == "443" and seen["x-forwarded-for"] == "127.0.0.1"
    assert _printable(answer.location) == "https://shop.example.test/?[2Jhealthz"
