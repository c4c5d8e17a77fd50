"""Module: a dokku-postgres or dokku-mysql service: created and linked, or removed."""

from __future__ import annotations

DOCUMENTATION = r"""
module: service
short_description: Ensure a Dokku database service (postgres:* or mysql:*) exists and is linked, or is gone
description:
  - C(present) creates the service when C(ENGINE:exists) says it is missing and links it to O(app) with
    C(--no-restart) when C(ENGINE:linked) says it is not (both commands fail when repeated, so they are checked first).
    The service plugin sets the app's C(DATABASE_URL). When the app's C(DATABASE_URL) points at another service
    the app is linked to (an C(apps:clone) copies both), that link is removed first, so the app gets its own.
  - C(absent) unlinks O(app) when linked, then destroys the service with C(--force); its data is gone.
  - Backups stream C(ENGINE:export) into the backup repository and out of it into C(ENGINE:import) themselves
    (the backups role), so no dump is written to disk.
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
    choices: [present, absent]
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
"""

RETURN = r"""
commands:
  description: The dokku commands run (or that would run in check mode).
  returned: always
  type: list
"""

from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dokku_deploy.dokku.plugins.module_utils.dokku import DokkuCli


def _same_database(dsn: str, url: str) -> bool:
    """Whether two URLs name one database: host, port and path (the scheme may be the app's own, and a link may
    add a query string)."""
    a, b = urlsplit(dsn), urlsplit(url)
    return bool(a.hostname) and (a.hostname, a.port, a.path) == (b.hostname, b.port, b.path)


def _inherited_service(dokku: DokkuCli, engine: str, name: str, app: str) -> str:
    """The other service the app's DATABASE_URL points at, among those whose links name the app: apps:clone copies
    the settings and the service plugins add the clone to the original's links, so a link of the clone's own
    service would only add DOKKU_ENGINE_COLOR_URL and leave DATABASE_URL on the original's data. The service is
    found by its URL (ENGINE:info --dsn), not by the URL's host: the plugins turn "." and "_" into "-" there, so
    the host does not give the name back."""
    url = dokku.run("config:get", app, "DATABASE_URL", check=False)[1].strip()
    if not url:
        return ""
    for other in dokku.run(f"{engine}:app-links", app, check=False)[1].split():
        if other != name and _same_database(dokku.run(f"{engine}:info", other, "--dsn", check=False)[1].strip(), url):
            return other
    return ""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "engine": {"type": "str", "required": True, "choices": ["postgres", "mysql"]},
            "name": {"type": "str", "required": True},
            "app": {"type": "str", "default": ""},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        },
        supports_check_mode=True,
    )
    engine, name, app, state = (module.params[k] for k in ("engine", "name", "app", "state"))
    dokku = DokkuCli(module)
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
