"""The route check's wait for nginx's reload, against a real nginx: only workers started after the app's nginx.conf
was written serve it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import services

from ansible_dokku_deploy.errors import ProvisioningError
from ansible_dokku_deploy.health import await_switch, nginx_workers


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Path]:
    """A real nginx (the sandbox's configuration, one worker) on a free loopback port; yields its pid file."""
    services.nginx_config(tmp_path, tmp_path, services.free_port(), user="")
    proc = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
    pid_file = tmp_path / "nginx.pid"
    deadline = time.monotonic() + 10
    while not nginx_workers(pid_file) and time.monotonic() < deadline:
        time.sleep(0.02)
    yield pid_file
    proc.terminate()
    proc.wait(timeout=10)


def test_the_wait_ends_only_when_the_workers_from_before_the_reload_stop_taking_connections(
    nginx: Path, tmp_path: Path
) -> None:
    app_conf = tmp_path / "app-nginx.conf"
    time.sleep(0.05)  # the switch comes later than nginx's start: more than the clock tick of process start times
    app_conf.write_text("upstream app-web { server 127.0.0.1:5000; }\n")
    before = nginx_workers(nginx)
    assert before is not None and len(before) == 1
    with pytest.raises(ProvisioningError, match=r"1 of its workers started before app-nginx\.conf was written"):
        await_switch(app_conf, "127.0.0.1:5000", nginx, time.monotonic() + 0.3)
    os.kill(int(nginx.read_text()), signal.SIGHUP)  # what Dokku's reload does; nginx answers it asynchronously
    assert await_switch(app_conf, "127.0.0.1:5000", nginx, time.monotonic() + 10)
    after = nginx_workers(nginx)
    assert after and not {tuple(w) for w in before} & {tuple(w) for w in after}
    with pytest.raises(ProvisioningError, match=r"does not name 127\.0\.0\.1:6000"):
        await_switch(app_conf, "127.0.0.1:6000", nginx, time.monotonic() + 0.2)


def test_without_a_pid_file_only_the_configuration_is_waited_for(tmp_path: Path) -> None:
    app_conf = tmp_path / "app-nginx.conf"
    app_conf.write_text("upstream app-web { server 127.0.0.1:5000; }\n")
    missing = tmp_path / "none.pid"
    assert nginx_workers(missing) is None
    assert not await_switch(app_conf, "127.0.0.1:5000", missing, time.monotonic() + 1)


def test_workers_started_by_a_reload_before_the_apps_configuration_was_written_do_not_count(
    nginx: Path, tmp_path: Path
) -> None:
    """Another app's deploy reloads nginx between the gate and the write of this app's nginx.conf: the gate-time
    workers are gone, but the new ones read the old configuration. Only workers started after the write serve it."""
    app_conf = tmp_path / "app-nginx.conf"
    before = nginx_workers(nginx)
    assert before
    os.kill(int(nginx.read_text()), signal.SIGHUP)  # the other app's reload
    deadline = time.monotonic() + 10
    while (nginx_workers(nginx) or before) == before and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.05)
    app_conf.write_text("upstream app-web { server 127.0.0.1:5000; }\n")  # this app's switch, not yet reloaded
    with pytest.raises(ProvisioningError, match=r"1 of its workers started before app-nginx\.conf was written"):
        await_switch(app_conf, "127.0.0.1:5000", nginx, time.monotonic() + 0.3)
    os.kill(int(nginx.read_text()), signal.SIGHUP)  # this app's reload
    assert await_switch(app_conf, "127.0.0.1:5000", nginx, time.monotonic() + 10)
