"""Module: an app's Dokku domains, replaced with one domains:set when they differ."""

from __future__ import annotations

DOCUMENTATION = r"""
module: domains
short_description: Ensure a Dokku app's domains
description:
  - Reads the app's vhosts with C(domains:report APP --domains-app-vhosts) and runs one C(domains:set) when they
    differ (order counts, the first domain being the primary one).
extends_documentation_fragment: [dokku_deploy.dokku.app]
options:
  domains:
    description: The app's domains, primary first.
    type: list
    elements: str
    required: true
author: ansible-deploy developers
"""

EXAMPLES = r"""
- name: Ensure the app's domains
  dokku_deploy.dokku.domains:
    app: hello
    domains: [hello.example.com]
"""

RETURN = r"""
commands:
  description: The dokku commands run (or that would run in check mode).
  returned: always
  type: list
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dokku_deploy.dokku.plugins.module_utils.dokku import DokkuCli


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "app": {"type": "str", "required": True},
            "domains": {"type": "list", "elements": "str", "required": True},
        },
        supports_check_mode=True,
    )
    app, wanted = module.params["app"], list(dict.fromkeys(module.params["domains"]))
    dokku = DokkuCli(module)
    current = dokku.read("domains:report", app, "--domains-app-vhosts").split()
    changed = current != wanted
    if changed:
        dokku.write(*(["domains:set", app, *wanted] if wanted else ["domains:clear", app]))
    dokku.exit(changed=changed, before=current, after=wanted)


if __name__ == "__main__":
    main()
