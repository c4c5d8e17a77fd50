"""Module: whether a Dokku app deploys with zero downtime (new containers checked before the old ones stop)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: checks
short_description: Ensure a Dokku app's zero-downtime deploys are on or off
description:
  - Reads C(checks:report APP --checks-disabled-list) and runs C(checks:disable APP) or C(checks:enable APP)
    when it differs.
  - An app that publishes host ports (C(docker-options) C(-p)) needs them off, since the new container cannot
    bind a port the old one still holds; Dokku then stops the old containers before it starts the new ones.
extends_documentation_fragment: [dokku_deploy.dokku.app]
options:
  zero_downtime:
    description: Whether deploys start and check the new containers before stopping the old ones.
    type: bool
    required: true
author: ansible-deploy developers
"""

EXAMPLES = r"""
- name: Stop the old container first (it holds the published SSH port)
  dokku_deploy.dokku.checks:
    app: forge
    zero_downtime: false
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
        argument_spec={"app": {"type": "str", "required": True}, "zero_downtime": {"type": "bool", "required": True}},
        supports_check_mode=True,
    )
    app, wanted = module.params["app"], "none" if module.params["zero_downtime"] else "_all_"
    dokku = DokkuCli(module)
    current = dokku.read("checks:report", app, "--checks-disabled-list")
    if current != wanted:
        dokku.write("checks:enable" if wanted == "none" else "checks:disable", app)
    dokku.exit(changed=current != wanted, before=current, after=wanted)


if __name__ == "__main__":
    main()
