"""Module: an app's persistent folders as Dokku named storage entries, created and mounted when missing."""

from __future__ import annotations

DOCUMENTATION = r"""
module: storage
short_description: Ensure a Dokku app's named storage entries are created and mounted
description:
  - Reads C(storage:list-entries --format json) and C(storage:list APP --format json) once, unmounts entries of
    O(owned) that are no longer wanted where they are, creates missing entries with C(storage:create), changes the
    owner of an existing one in place with C(storage:set NAME chown VALUE) (only for a folder where Dokku makes
    it, C(data/storage/NAME); Dokku chowns no other), and mounts them with
    C(storage:mount APP NAME --container-dir PATH). Data is never deleted.
  - Entries are global. An entry of O(mounts) that exists but is not in O(owned) is another app's, or one left by an
    app destroyed or renamed; a mount on a wanted path that is not in O(owned) would make two on one path, which
    Docker refuses. The module fails, naming each, and changes nothing.
extends_documentation_fragment: [dokku_deploy.dokku.app]
options:
  mounts:
    description: Entries to mount, each with C(entry) (the storage entry name) and C(path) (the container dir).
    type: list
    elements: dict
    required: true
  owned:
    description: The entries that are the app's; those not wanted are unmounted, and only these may exist already.
    type: list
    elements: str
    default: []
  chown:
    description:
      - Who owns the entries' folders, as C(storage:create --chown) takes it (C(herokuish), C(heroku), C(paketo),
        C(root), a uid); Dokku chowns the folder recursively each time it changes. Empty leaves an entry's
        ownership alone.
    type: str
    default: ""
author: ansible-deploy developers
"""

EXAMPLES = r"""
- name: Ensure the app's storage
  dokku_deploy.dokku.storage:
    app: hello
    mounts: [{entry: hello-uploads, path: /app/uploads}]
    owned: [hello-uploads]
    chown: herokuish
"""

RETURN = r"""
commands:
  description: The dokku commands run (or that would run in check mode).
  returned: always
  type: list
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dokku_deploy.dokku.plugins.module_utils.dokku import DokkuCli


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "app": {"type": "str", "required": True},
            "mounts": {"type": "list", "elements": "dict", "required": True},
            "owned": {"type": "list", "elements": "str", "default": []},
            "chown": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    app, owned, chown = module.params["app"], set(module.params["owned"]), module.params["chown"]
    wanted = {m["entry"]: os.path.normpath(m["path"]) for m in module.params["mounts"]}
    dokku = DokkuCli(module)
    # Dokku 0.38's JSON (plugins/storage): entries carry name and host_path; each mount its entry_name (empty for
    # mounts made before named entries) and container_path.
    listed = json.loads(dokku.read("storage:list-entries", "--format", "json") or "[]")
    entries = {entry["name"]: entry for entry in listed}
    mounted = {
        (m.get("entry_name") or m["host_path"], os.path.normpath(m["container_path"]))
        for m in json.loads(dokku.read("storage:list", app, "--format", "json") or "[]")
    }
    before = sorted(f"{name}:{container}" for name, container in mounted)
    taken = sorted(name for name in wanted if name in entries and name not in owned)
    problems = [f"storage entry {name} already exists and is not {app}'s" for name in taken]
    problems += [  # Docker refuses a container with two mounts on one path
        f"{other} is mounted on {container}, where {name} is wanted, and is not {app}'s"
        for name, container in sorted(wanted.items())
        for other, path in sorted(mounted)
        if path == container and other != name and other not in owned
    ]
    if problems:
        module.fail_json(
            msg="; ".join(problems) + ": it is never mounted, unmounted or chowned", commands=dokku.commands
        )
    changed = False
    for name, container in sorted(mounted):  # first, so that no path ever has two
        if name in owned and wanted.get(name) != container:
            dokku.write("storage:unmount", app, name, "--container-dir", container)
            changed = True
    for name, container in sorted(wanted.items()):
        if name not in entries:
            dokku.write("storage:create", name, *(["--chown", chown] if chown else []))
            changed = True
        elif chown and entries[name].get("chown", "") != chown and _default_path(entries[name]):
            dokku.write("storage:set", name, "chown", chown)  # in place: storage:create would rewrite the entry
            changed = True
        if (name, container) not in mounted:
            dokku.write("storage:mount", app, name, "--container-dir", container)
            changed = True
    kept = [entry for entry in before if entry.split(":", 1)[0] not in owned]
    after = sorted(set(kept) | {f"{n}:{c}" for n, c in wanted.items()})
    dokku.exit(changed=changed, before=before, after=after)


def _default_path(entry: dict[str, str]) -> bool:
    """Whether the entry's folder is where Dokku makes it (data/storage/NAME): Dokku chowns only those; a folder
    of the admin's own (another disk, an adopted legacy mount) keeps its owner."""
    return entry.get("host_path", "").endswith(f"/data/storage/{entry['name']}")


if __name__ == "__main__":
    main()
