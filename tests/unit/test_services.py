"""The test servers' ports and starts: no two picks alike, and a server that does not start leaves nothing behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import services  # scripts/, on the path through conftest


def test_no_port_is_picked_twice_by_one_process() -> None:
    """A sandbox's servers start side by side, each binding its ports some time after they were picked: a port
    picked twice in that time (one pair in 70 among 17 picks, drawing from 10,000 ports at random) fails one."""
    picked = [services.free_port() for _ in range(500)]
    assert len(set(picked)) == len(picked)


def test_each_pytest_worker_picks_from_a_share_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    shares = []
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        shares.append({services.free_port() for _ in range(50)})
    assert all(10000 <= port < 15000 for port in shares[0])
    assert all(15000 <= port < 20000 for port in shares[1])
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert services._share() == range(10000, 20000)  # the sandbox's own, outside the tests


def test_a_server_that_exits_at_once_is_reported_at_once_with_its_log(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(RuntimeError) as failed:
        services._serve(["sh", "-c", "echo bind: address already in use; exit 3"], tmp_path / "log", lambda: False,
                        "Thing", seconds=30)  # fmt: skip
    assert time.monotonic() - started < 5
    assert "Thing exited with status 3" in str(failed.value)
    assert "bind: address already in use" in str(failed.value)


def test_a_server_never_ready_is_stopped_with_all_it_started(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="Thing did not start within 1s"):
        services._serve(["sh", "-c", "sleep 60 & sleep 60"], tmp_path / "log", lambda: False, "Thing", seconds=1)
    assert not services.group_running(services._spawned[-1])
