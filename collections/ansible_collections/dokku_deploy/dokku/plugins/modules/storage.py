"""Module: an app's persistent folders as Dokku named storage entries, created and mounted when missing."""

from __future__ import annotations

DOCUMENTATION = r"""
module: storage
short_description: Ensure a Dokku app's named storage entries are created and mounted
description:
  - Reads C(storage:list-entries --format json) and C(storage:list APP --format json) once, creates missing
    entries with C(storage:create) (and runs it again with C(--chown) for an entry whose owner is not O(chown)),
    mounts them with C(storage:mount APP NAME --container-dir PATH), and unmounts entries of O(owned) that are no
    longer wanted. Data is never deleted.
  - Entries are global. An entry of O(mounts) that exists but is not in O(owned) is another app's, or one left by an
    app destroyed or renamed; the module fails, naming it, and changes nothing.
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
        C(root), a uid); Dokku chowns the folder recursively each time. Empty leaves an entry's ownership alone.
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
    wanted = {m["entry"]: m["path"] for m in module.params["mounts"]}
    dokku = DokkuCli(module)
    # Dokku 0.38's JSON (plugins/storage): entries carry name and host_path; each mount its entry_name (empty for
    # mounts made before named entries) and container_path.
    listed = json.loads(dokku.read("storage:list-entries", "--format", "json") or "[]")
    owners = {entry["name"]: entry.get("chown", "") for entry in listed}
    mounted = {
        (m.get("entry_name") or m["host_path"], m["container_path"])
        for m in json.loads(dokku.read("storage:list", app, "--format", "json") or "[]")
    }
    before = sorted(f"{name}:{container}" for name, container in mounted)
    taken = sorted(name for name in wanted if name in owners and name not in owned)
    if taken:
        module.fail_json(
            msg=f"storage entry {', '.join(taken)} already exists and is not {app}'s: it is never mounted or chowned",
            commands=dokku.commands,
        )
    changed = False
    for name, container in sorted(wanted.items()):
        if name not in owners or (chown and owners[name] != chown):
            dokku.write("storage:create", name, *(["--chown", chown] if chown else []))
            changed = True
        if (name, container) not in mounted:
            dokku.write("storage:mount", app, name, "--container-dir", container)
            changed = True
    for name, container in sorted(mounted):
        if name in owned and wanted.get(name) != container:
            dokku.write("storage:unmount", app, name, "--container-dir", container)
            changed = True
    kept = [entry for entry in before if entry.split(":", 1)[0] not in owned]
    after = sorted(set(kept) | {f"{n}:{c}" for n, c in wanted.items()})
    dokku.exit(changed=changed, before=before, after=after)


if __name__ == "__main__":
    main()
