"""Module: an app's Dokku port map, replaced with one ports:set when it differs."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ports
short_description: Ensure a Dokku app's port map
description:
  - Reads the map with C(ports:report APP --ports-map) and runs one C(ports:set) when it differs.
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
        dokku.write("ports:set", app, *wanted)
    dokku.exit(changed=current != wanted, before=current, after=wanted)


if __name__ == "__main__":
    main()
