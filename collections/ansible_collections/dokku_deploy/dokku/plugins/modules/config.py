"""Module: an app's Dokku settings, set with one config:import --no-restart, values on stdin."""

from __future__ import annotations

DOCUMENTATION = r"""
module: config
short_description: Ensure a Dokku app's settings have the given values
description:
  - Reads the app's settings once with C(config:export --format json), then sets every differing value in one
    C(dokku --quiet config:import --no-restart --format json APP -), the values on stdin (never in a process's
    arguments; Dokku 0.37.0 or newer), and removes the listed keys in one C(config:unset --no-restart).
  - Never restarts the app and never writes when nothing differs.
extends_documentation_fragment: [dokku_deploy.dokku.app]
options:
  values:
    description: Settings the app must have, key to value.
    type: dict
    default: {}
  secret_values:
    description: Like O(values), but never shown in diffs, commands or logs.
    type: dict
    default: {}
  unset:
    description: Keys the app must not have.
    type: list
    elements: str
    default: []
author: ansible-deploy developers
"""

EXAMPLES = r"""
- name: Ensure the app's settings are current
  dokku_deploy.dokku.config:
    app: hello
    values: {GREETING: hi}
    unset: [OLD_SETTING]
"""

RETURN = r"""
commands:
  description: The dokku commands run (or that would run in check mode), values hidden.
  returned: always
  type: list
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dokku_deploy.dokku.plugins.module_utils.dokku import DokkuCli

MASK = "********"


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "app": {"type": "str", "required": True},
            "values": {"type": "dict", "default": {}},
            "secret_values": {"type": "dict", "default": {}, "no_log": True},
            "unset": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    app, secrets = module.params["app"], module.params["secret_values"]
    wanted = {k: str(v) for k, v in {**module.params["values"], **secrets}.items()}
    dokku = DokkuCli(module)
    current = json.loads(dokku.read("config:export", "--format", "json", app) or "{}")
    to_set = {k: v for k, v in wanted.items() if current.get(k) != v}
    to_unset = [k for k in module.params["unset"] if k in current and k not in wanted]
    if to_set:  # values on stdin, never in a process's arguments (Dokku 0.37+; --quiet: it echoes them otherwise)
        dokku.write("config:import", "--no-restart", "--format", "json", app, "-", stdin=json.dumps(to_set))
    if to_unset:
        dokku.write("config:unset", "--no-restart", app, *to_unset)

    def shown(values: dict[str, str]) -> dict[str, str]:
        return {k: MASK if k in secrets else v for k, v in sorted(values.items())}

    keys = set(wanted) | set(to_unset)
    before = shown({k: v for k, v in current.items() if k in keys})
    after = shown(wanted)
    dokku.exit(changed=bool(to_set or to_unset), before=before, after=after, set=sorted(to_set), unset=to_unset)


if __name__ == "__main__":
    main()
