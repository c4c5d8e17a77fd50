"""The parts of backups that need no server: cron's next run, restic's errors in plain words, and what its summaries
of a backup say."""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ansible_dokku_deploy.backups import _skipped, _written
from ansible_dokku_deploy.cron import max_age, next_run
from ansible_dokku_deploy.restic import explain, reason

NOW = calendar.timegm((2026, 12, 2, 17, 59, 0, 0, 0, 0))  # a Wednesday


@pytest.fixture(autouse=True)
def _server_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server's local time is UTC unless a test says otherwise (cron reads schedules in it)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("0 3 * * *", "2026-12-03 03:00"),
        ("*/15 * * * *", "2026-12-02 18:00"),
        ("0 0 1 * *", "2027-01-01 00:00"),
        ("30 2 * * 0", "2026-12-06 02:30"),
        ("30 2 * * 7", "2026-12-06 02:30"),
        ("0 4 15 * 1", "2026-12-07 04:00"),  # the 15th or a Monday: cron takes either
        ("0 3 * * MON", None),
    ],
)
def test_the_next_run_is_crons(schedule: str, expected: str | None) -> None:
    found = next_run(schedule, NOW)
    assert (time.strftime("%Y-%m-%d %H:%M", time.gmtime(found)) if found else None) == expected


def test_the_next_run_is_in_the_servers_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dokku's crontab has no TZ: cron runs "0 3 * * *" at 03:00 of the server's clock, 02:00 UTC in Berlin's
    winter and 01:00 UTC in its summer."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    assert time.strftime("%Y-%m-%d %H:%M", time.gmtime(next_run("0 3 * * *", NOW) or 0)) == "2026-12-03 02:00"
    summer = calendar.timegm((2026, 7, 1, 12, 0, 0, 0, 0, 0))
    assert time.strftime("%Y-%m-%d %H:%M", time.gmtime(next_run("0 3 * * *", summer) or 0)) == "2026-07-02 01:00"
    spring = calendar.timegm((2026, 3, 28, 12, 0, 0, 0, 0, 0))  # the night the clocks go forward: 03:00 exists
    assert time.strftime("%Y-%m-%d %H:%M", time.gmtime(next_run("30 3 * * 0", spring) or 0)) == "2026-03-29 01:30"


def test_max_age_is_the_longest_gap_and_an_hour() -> None:
    assert max_age("0 3 * * *") == 25 * 3600
    assert max_age("0 3,15 * * *") == 13 * 3600


@pytest.mark.parametrize(
    ("stderr", "meaning"),
    [
        ("Fatal: wrong password or no key found\n", "the repository password is wrong"),
        (
            ("Fatal: unable to open config file: Stat: dial tcp 127.0.0.1:1: connect: connection refused\n"
            "Is there a repository at the following location?\n"),
            "the repository cannot be reached (connection refused)",
        ),
        (("Fatal: unable to open config file: stat /x/config: no such file or directory\nIs there a repository at"
         " the following location?\n"), "there is no repository at that location"),
        ("Save(<data/96>) returned error, retrying after 10s: write: no space left on device\n", "the disk is full"),
    ],
)  # fmt: skip
def test_restic_says_why_in_plain_words(stderr: str, meaning: str) -> None:
    assert explain(stderr) == meaning


def test_a_failed_dump_is_not_blamed_on_the_repository() -> None:
    stderr = 'pg_dump: error: connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
    assert explain(stderr) == stderr.strip()
    assert reason("") == "restic failed without saying why"


def _summary(work: Path, kind: str, size: int, snapshot: str) -> None:
    line = {"message_type": "summary", "total_bytes_processed": size, "snapshot_id": snapshot}
    (work / f"{kind}.summary.json").write_text(json.dumps(line) + "\n")


def test_a_backups_size_and_snapshots_come_from_restics_summaries(tmp_path: Path) -> None:
    _summary(tmp_path, "files", 2048, "f1e2d3c4")
    assert _written(tmp_path) == (2048, {"files": "f1e2d3c4"}), "an app without a database: files.tar alone"
    _summary(tmp_path, "database", 512, "0a1b2c3d")
    assert _written(tmp_path) == (2560, {"database": "0a1b2c3d", "files": "f1e2d3c4"})
    (tmp_path / "files.summary.json").write_text("")  # restic said nothing: the repository is asked instead
    assert _written(tmp_path) is None
    (tmp_path / "files.summary.json").unlink()
    assert _written(tmp_path) is None


def test_a_failed_files_archive_says_what_tar_said() -> None:
    stderr = (
        "tar: var/lib/dokku/data/storage/x: Cannot stat: No such file or directory\n"
        "tar: Exiting with failure status due to previous errors\n"
    )
    assert explain(stderr) == "tar: var/lib/dokku/data/storage/x: Cannot stat: No such file or directory"


def test_what_tar_could_not_read_is_named_as_host_paths(tmp_path: Path) -> None:
    (tmp_path / "files.tar.log").write_text(
        "tar: srv/storage/a/session: Warning: Cannot open: Permission denied\n"
        "tar: srv/storage/a/private: Warning: Cannot open: Permission denied\n"
        "tar: srv/storage/a/live.log: file changed as we read it\n"
    )
    assert _skipped(tmp_path) == ["/srv/storage/a/private", "/srv/storage/a/session"]
    (tmp_path / "files.tar.log").unlink()
    assert _skipped(tmp_path) == []
