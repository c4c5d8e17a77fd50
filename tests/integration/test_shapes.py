"""Every shape of the all-pairs matrix (tests/shapes.py) through the whole life cycle, its data checked at each step.

One sandbox with the real servers for the module (each xdist worker its own); each shape is an app of its own in it.
A shape is pushed, pushed again unchanged (nothing runs), backed up and drilled, its data then damaged and restored,
renamed (deployed at once or not, as the matrix says), changed by a push under its new name, and destroyed: its database rows, its storage folders' files and its
settings are checked after every step, and nothing is ever lost.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO, Sandbox, output, services_facts
from shapes import SHAPES, Shape
from test_databases import backup_ids, report, sql

NOTES = REPO / "examples" / "notes"  # a web app that answers which database it has
MARK_STEP = """---
- name: Count the packager's step runs
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Add the phase to the app's step log
      ansible.builtin.shell: echo "{{ ansible_deploy_phase }}" >> "{{ ansible_deploy_app_dir }}/shape-steps.log"
      changed_when: true
"""


def source(tmp_path: Path, shape: Shape, colour: str) -> Path:
    """The shape's tree as a pusher commits it: the notes app, the shape's env.yml and its steps."""
    src = tmp_path / shape.app
    if not src.exists():
        shutil.copytree(NOTES, src)
        if shape.parts["steps"]:
            (src / "ansible").mkdir()
            (src / "ansible" / "mark.yml").write_text(MARK_STEP)
    (src / "env.yml").write_text(yaml.safe_dump(shape.env_yml(shape.app, colour), sort_keys=False))
    return src


def pushed(box: Sandbox, app: str, src: Path, clone: str = "") -> str:
    result = box.push(app, src, clone)
    assert result.returncode == 0, output(result)
    assert "Traceback" not in output(result)
    return output(result)


def ran(box: Sandbox, *args: str) -> str:
    result = box.dokku(*args)
    assert result.returncode == 0, f"dokku {' '.join(args)} failed:\n{output(result)}"
    assert "Traceback" not in output(result)
    return output(result)


def entries(box: Sandbox, app: str) -> dict[str, Path]:
    """The app's storage mounts: container path to host folder."""
    mounts = json.loads(box.ok("storage:list", app, "--format", "json"))
    return {m["container_path"]: Path(m["host_path"]) for m in mounts}


def put_data(box: Sandbox, app: str, shape: Shape, value: str) -> None:
    """The app's data: one row in its database, one file in each storage folder."""
    if shape.database != "none":
        insert = f"INSERT INTO shape VALUES ('{value}')"  # noqa: S608  # the test's own value
        sql(box, app, "CREATE TABLE IF NOT EXISTS shape (v text)", "DELETE FROM shape", insert)
    for folder in entries(box, app).values():
        (folder / "data.txt").write_text(value)


def assert_data(box: Sandbox, app: str, shape: Shape, value: str, step: str) -> None:
    """What the app has is what it was given: its database row, its files, one folder per storage path."""
    mounts = entries(box, app)
    assert sorted(mounts) == sorted(f"/app/{name}" for name in shape.storage), (step, mounts)
    assert len(set(mounts.values())) == len(mounts), f"{step}: two paths share a folder: {mounts}"
    for path, folder in mounts.items():
        assert (folder / "data.txt").read_text() == value, f"{step}: {path} ({folder}) lost its data"
    if shape.database != "none":
        assert sql(box, app, "SELECT v FROM shape") == [(value,)], f"{step}: the database lost its row"


def assert_settings(box: Sandbox, app: str, shape: Shape, colour: str, *, running: bool = True) -> None:
    """The app's settings, and (when it runs) the database it answers it has."""
    config = box.config(app)
    assert config["COLOUR"] == colour
    assert config["TIER"] == ("staging" if shape.parts["environments"] else "base")
    if not running:
        return
    scheme = box.get(app)["database"]
    assert (scheme or "none").split(":")[0] == {"none": "none", "postgres": "postgres", "mysql": "mysql"}[
        shape.database
    ]


def assert_parts(box: Sandbox, app: str, shape: Shape) -> None:
    """Every part the shape asks for is there, and none it does not."""
    features = report(box, app, "features").split()
    assert ("database" in features) == (shape.database != "none"), features
    assert ("storage" in features) == bool(shape.storage), features
    assert ("tls" in features) == (shape.parts["tls"] == "acme"), features
    assert box.ok("certs:report", app, "--ssl-enabled").strip() == str(shape.parts["tls"] == "acme").lower()
    crontab = box.lib / "data" / "cron" / "crontab"
    scheduled = crontab.exists() and f"ansible-deploy:backup {app} " in crontab.read_text()
    assert scheduled == bool(shape.parts["backups"])
    assert steps_run(box, app) == (["pre-deploy", "post-deploy"] if shape.parts["steps"] else [])
    targets = Path(str(services_facts(box)["prometheus"]["folder"])) / "targets" / f"ansible-deploy-probe-{app}.json"
    assert targets.exists() == bool(shape.parts["monitoring"])


def steps_run(box: Sandbox, app: str) -> list[str]:
    log = box.home / app / "shape-steps.log"
    return log.read_text().split() if log.exists() else []


@pytest.mark.parametrize("shape", SHAPES, ids=[s.id for s in SHAPES])
def test_a_shape_lives_its_whole_life_without_losing_data(served: Sandbox, tmp_path: Path, shape: Shape) -> None:
    app, renamed = shape.app, f"{shape.app}-renamed"
    served.ok("apps:create", app)
    served.ok("ansible-deploy:set", app, "database-backend", str(shape.parts["backend"]))
    if shape.parts["environments"]:
        served.ok("ansible-deploy:set", app, "environment", "staging")
    if shape.parts["steps"]:
        served.ok("ansible-deploy:set", app, "allow-custom-steps", "true")

    # First push: every part the shape asks for is there.
    pushed(served, app, src := source(tmp_path, shape, "red"))
    assert_parts(served, app, shape)
    assert_settings(served, app, shape, "red")
    put_data(served, app, shape, "first")

    # The same tree again: no phase runs, nothing changes.
    said = pushed(served, app, src)
    for phase in ("pre-deploy", "post-deploy"):
        assert f"ansible-deploy: {phase} for {app}:" not in said, said
        skipped = f"{phase} for {app} is unchanged since the last successful run; skipping"
        assert skipped in said or f"nothing to provision in {phase} for {app}" in said, said
    assert_data(served, app, shape, "first", "unchanged push")

    # Backup and its drill; the data damaged, then restored.
    if not shape.backs_up:
        refused = served.dokku("ansible-deploy:backup", app)
        assert refused.returncode != 0
        assert f"{app} has nothing to back up" in output(refused) and "Traceback" not in output(refused)
    else:
        ran(served, "ansible-deploy:backup", app, "--drill")
        assert report(served, app, "last-drill-result") == "succeeded"
        [taken] = backup_ids(served, app)
        put_data(served, app, shape, "damaged")
        ran(served, "ansible-deploy:restore", app, taken, "--force")
        assert_data(served, app, shape, "first", "restore")

    # Renamed (and deployed under the new name, unless --skip-deploy): the same data under the new name.
    skip = shape.parts["rename"] == "skip-deploy"
    ran(served, "apps:rename", *(["--skip-deploy"] if skip else []), app, renamed)
    assert_data(served, renamed, shape, "first", "rename")
    assert_settings(served, renamed, shape, "red", running=not skip)
    runs = 1 if skip else 2  # a deploy runs both phases again: the app's name is in their plans

    # A change pushed to the renamed app: the settings follow, the data stays.
    pushed(served, renamed, source(tmp_path, shape, "blue"), clone=app)
    assert_settings(served, renamed, shape, "blue")
    assert steps_run(served, renamed) == (["pre-deploy", "post-deploy"] * (runs + 1) if shape.parts["steps"] else [])
    assert_data(served, renamed, shape, "first", "changed push after the rename")

    # Destroyed: the app is gone, its data is kept.
    folders = entries(served, renamed)
    database = report(served, renamed, "database-name") if shape.database != "none" else ""
    said = ran(served, "--force", "apps:destroy", renamed)
    assert not served.data_dir(renamed).exists()
    if database:
        assert f"kept its {shape.database} database {database}" in said, said
    for path, folder in folders.items():
        assert (folder / "data.txt").read_text() == "first", f"destroy: {path} ({folder}) lost its data"
