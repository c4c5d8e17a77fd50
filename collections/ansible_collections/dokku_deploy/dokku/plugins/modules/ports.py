"""Module: an app's Dokku port map, replaced with one ports:set when it differs."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ports
short_description: Ensure a Dokku app's port map
description:
  - Reads the map with C(ports:report APP --ports-map) and runs one C(ports:set) when it differs.
  - C(ports:set) makes nginx rebuild at once with the running containers and the new map, whose container port
    they were not started with (502s until the next deploy's containers take over, for good if that deploy fails).
    So while it runs the app's proxy type is set to C(none) (C(proxy:set) triggers nothing), and put back after;
    nginx gets the new map at the deploy's own rebuild, with the containers started on it.
  - C(ports:set) replaces the whole map, so list C(https:443:PORT) too once TLS is on.
extends_documentation_fragment: [dokku_deploy.dokku.app]
options:
  mappings:
    description: The whole port map, as scheme:host-port:container-port entries.
    type: list
    elements: str
    required: true
author: ansible-deploy developers
"""

EXAMPLES = r"""
- name: Ensure the app's port map
  dokku_deploy.dokku.ports:
    app: hello
    mappings: ["http:80:5000"]
"""

RETURN = r"""
commands:
  description: The dokku commands run (or that would run in check mode).
  returned: always
  type: list
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dokku_deploy.dokku.plugins.module_utils.dokku import DokkuCli

MAPPING = re.compile(r"[a-z0-9]+:\d+:\d+")


def set_unseen_by_nginx(dokku: DokkuCli, app: str, wanted: list[str]) -> None:
    """`ports:set` without nginx's rebuild (plugins/nginx-vhosts/post-proxy-ports-update rebuilds only for an app
    whose proxy type is nginx); the app's own proxy type is put back whatever happens."""
    if dokku.module.check_mode or dokku.read("proxy:report", app, "--proxy-computed-type") != "nginx":
        dokku.write("ports:set", app, *wanted)
        return
    own = dokku.read("proxy:report", app, "--proxy-type")
    dokku.write("proxy:set", app, "type", "none")
    rc, out, err = dokku.run("ports:set", app, *wanted, check=False)
    dokku.write("proxy:set", app, "type", *([own] if own else []))
    if rc != 0:
        detail = (err or out).strip().replace(" !     ", "")
        dokku.module.fail_json(msg=f"dokku ports:set failed (exit {rc}): {detail}", commands=dokku.commands)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "app": {"type": "str", "required": True},
            "mappings": {"type": "list", "elements": "str", "required": True},
        },
        supports_check_mode=True,
    )
    app, wanted = module.params["app"], sorted(set(module.params["mappings"]))
    bad = [m for m in wanted if not MAPPING.fullmatch(m)]
    if bad or not wanted:
        module.fail_json(msg=f"mappings must be scheme:host-port:container-port entries, got {bad or 'none'}")
    dokku = DokkuCli(module)
    current = sorted(dokku.read("ports:report", app, "--ports-map").split())
    if current != wanted:
        set_unseen_by_nginx(dokku, app, wanted)
    dokku.exit(changed=current != wanted, before=current, after=wanted)


if __name__ == "__main__":
    main()
