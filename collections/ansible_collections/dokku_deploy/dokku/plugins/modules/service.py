"""Module: a dokku-postgres or dokku-mysql service: created and linked, removed, dumped, restored."""

from __future__ import annotations

DOCUMENTATION = r"""
module: service
short_description: Ensure a Dokku database service (postgres:* or mysql:*) exists and is linked, or dump and restore it
description:
  - C(present) creates the service when C(ENGINE:exists) says it is missing and links it to O(app) with
    C(--no-restart) when C(ENGINE:linked) says it is not (both commands fail when repeated, so they are checked first).
    The service plugin sets the app's C(DATABASE_URL). When the app's C(DATABASE_URL) points at another service
    the app is linked to (an C(apps:clone) copies both), that link is removed first, so the app gets its own.
  - C(absent) unlinks O(app) when linked, then destroys the service with C(--force); its data is gone.
  - C(dump) writes C(ENGINE:export) to O(target) (gzip-compressed when O(target) ends in C(.gz)), unless O(target)
    exists. C(restore) feeds O(target) to C(ENGINE:import).
options:
  engine:
    description: The service plugin.
    type: str
    required: true
    choices: [postgres, mysql]
  name:
    description: The service name (letters, digits, C(_) and C(-)).
    type: str
    required: true
  app:
    description: The Dokku app the service is linked to.
    type: str
    default: ""
  state:
    description: What to do.
    type: str
    default: present
    choices: [present, absent, dump, restore]
  target:
    description: The dump file, for O(state=dump) and O(state=restore).
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author: ansible-deploy developers
"""

EXAMPLES = r"""
- name: Ensure the app's database
  dokku_deploy.dokku.service:
    engine: postgres
    name: hello
    app: hello

- name: Dump it
  dokku_deploy.dokku.service:
    engine: postgres
    name: hello
    state: dump
    target: /var/backups/hello/database.pgc
"""

RETURN = r"""
commands:
  description: The dokku commands run (or that would run in check mode).
  returned: always
  type: list
"""

import contextlib
import gzip
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dokku_deploy.dokku.plugins.module_utils.dokku import DokkuCli


def _stream(dokku: DokkuCli, verb: str, name: str, target: str) -> None:
    """ENGINE:export into target, or target into ENGINE:import, without holding the dump in memory."""
    argv = [dokku.binary, "--quiet", verb, name]
    dokku.commands.append(["dokku", verb, name])
    opener = gzip.open if target.endswith(".gz") else open
    if verb.endswith(":export"):
        partial = f"{target}.partial"
        with opener(partial, "wb") as out:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # noqa: S603  # argv
            assert proc.stdout is not None  # for the type checker
            shutil.copyfileobj(proc.stdout, out)
            err = proc.communicate()[1]
        if proc.returncode:
            Path(partial).unlink()
            dokku.module.fail_json(msg=f"dokku {verb} failed: {err.decode(errors='replace').strip()}")
        Path(partial).chmod(0o600)
        Path(partial).replace(target)
        return
    with opener(target, "rb") as src:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stderr=subprocess.PIPE)  # noqa: S603  # argv
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # the import failed early: its stderr says why
            shutil.copyfileobj(src, proc.stdin)
        err = proc.communicate()[1]  # closes stdin
    if proc.returncode:
        dokku.module.fail_json(msg=f"dokku {verb} failed: {err.decode(errors='replace').strip()}")


def _inherited_service(dokku: DokkuCli, engine: str, name: str, app: str) -> str:
    """The service another app's DATABASE_URL points at, when the app is linked to it: apps:clone copies the
    settings and the service plugins add the clone to the original's links, so a link of the clone's own service
    would only add DOKKU_ENGINE_COLOR_URL and leave DATABASE_URL on the original's data."""
    url = dokku.run("config:get", app, "DATABASE_URL", check=False)[1].strip()
    host = urlsplit(url).hostname or ""
    other = host.removeprefix(f"dokku-{engine}-") if host.startswith(f"dokku-{engine}-") else ""
    if not other or other == name:
        return ""
    return other if dokku.run(f"{engine}:linked", other, app, check=False)[0] == 0 else ""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "engine": {"type": "str", "required": True, "choices": ["postgres", "mysql"]},
            "name": {"type": "str", "required": True},
            "app": {"type": "str", "default": ""},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent", "dump", "restore"]},
            "target": {"type": "path"},
        },
        required_if=[("state", "dump", ["target"]), ("state", "restore", ["target"])],
        supports_check_mode=True,
    )
    engine, name, app, state = (module.params[k] for k in ("engine", "name", "app", "state"))
    target = module.params["target"]
    dokku = DokkuCli(module)
    if state in ("dump", "restore"):
        if state == "dump" and Path(target).exists():
            dokku.exit(changed=False, before=target, after=target)
        if not module.check_mode:
            _stream(dokku, f"{engine}:{'export' if state == 'dump' else 'import'}", name, target)
        dokku.exit(changed=True, before="", after=target)
    exists = dokku.run(f"{engine}:exists", name, check=False)[0] == 0
    linked = bool(app) and exists and dokku.run(f"{engine}:linked", name, app, check=False)[0] == 0
    before = {"exists": exists, "linked": linked}
    if state == "present":
        if not exists:
            dokku.write(f"{engine}:create", name)
        if app and not linked:
            other = _inherited_service(dokku, engine, name, app)
            if other:  # a clone: unlinking the original's service also unsets the DATABASE_URL copied from it
                dokku.write(f"{engine}:unlink", other, app, "--no-restart")
            dokku.write(f"{engine}:link", name, app, "--no-restart")
        after = {"exists": True, "linked": bool(app)}
    else:
        if linked:
            dokku.write(f"{engine}:unlink", name, app, "--no-restart")
        if exists:
            dokku.write(f"{engine}:destroy", name, "--force")
        after = {"exists": False, "linked": False}
    dokku.exit(changed=before != after, before=before, after=after)


if __name__ == "__main__":
    main()
