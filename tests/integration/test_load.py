"""A small load test: 50 apps deployed one after another, 50 more five at a time, then every app's report."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import REPO, Sandbox, edit_env, output

APPS = 50


def _source(tmp_path: Path, app: str) -> Path:
    src = tmp_path / app
    shutil.copytree(REPO / "examples" / "notes", src)
    edit_env(
        src,
        domains=[f"{app}.example.test"],
        env={"MARK": app},
        tls="none",
        database=None,
        backups=None,
        storage=None,
        monitoring=None,
    )
    return src


def test_fifty_apps_serially_and_five_at_a_time_all_end_as_pushed(sandbox: Sandbox, tmp_path: Path) -> None:
    serial = [f"serial{n:02d}" for n in range(APPS)]
    parallel = [f"parallel{n:02d}" for n in range(APPS)]
    for app in serial:
        result = sandbox.push(app, _source(tmp_path, app))
        assert result.returncode == 0, output(result)
    sources = {app: _source(tmp_path, app) for app in parallel}
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = dict(zip(parallel, pool.map(lambda app: sandbox.push(app, sources[app]), parallel), strict=True))
    for app, result in results.items():
        assert result.returncode == 0, f"{app}: {output(result)}"

    reports = [json.loads(line) for line in sandbox.ok("ansible-deploy:report", "--format", "json").splitlines()]
    assert len(reports) == 2 * APPS
    for app, report in zip(sorted(serial + parallel), reports, strict=True):
        assert report["last-run-status"] == "succeeded", app
        assert report["resolved-env"] == f"MARK={app}", app
        assert report["resolved-domains"] == f"{app}.example.test", app
        assert report["staged-rev"], app
    exported = {app: sandbox.config(app)["MARK"] for app in serial + parallel}
    assert exported == {app: app for app in serial + parallel}
