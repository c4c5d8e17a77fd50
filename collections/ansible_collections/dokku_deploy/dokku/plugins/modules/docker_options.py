"""Module: container options of a Dokku app (published ports, labels, ...), added or removed when they differ."""

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_options
short_description: Ensure a Dokku app's docker options for some phases
description:
  - Reads C(docker-options:report APP --docker-options-PHASE) for each phase and runs C(docker-options:add) or
    C(docker-options:remove) only for the options that differ. Other options of the app are left alone.
  - Dokku applies deploy-phase options when it starts the next containers; in a C(pre-deploy) step that is this
    deploy's.
extends_documentation_fragment: [dokku_deploy.dokku.app]
options:
  options:
    description: Options, each exactly as C(docker-options:add) takes it, for example C(-p 2222:22).
    type: list
    elements: str
    required: true
  phases:
    description: The phases they are for.
    type: list
    elements: str
    choices: [build, deploy, run]
    default: [deploy]
  state:
    description: Whether the options are there or not.
    type: str
    choices: [present, absent]
    default: present
author: ansible-deploy developers
"""

EXAMPLES = r"""
- name: Publish the container's SSH port on the host
  dokku_deploy.dokku.docker_options:
    app: forge
    options: ["-p 2222:22"]
"""

RETURN = r"""
commands:
  description: The dokku commands run (or that would run in check mode).
  returned: always
  type: list
"""

import shlex

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dokku_deploy.dokku.plugins.module_utils.dokku import DokkuCli


def _flags(text: str) -> list[list[str]]:
    """Shell words grouped at each flag, as Dokku stores options (one per flag, re-quoted: compare words)."""
    groups: list[list[str]] = []
    for word in shlex.split(text):
        if not groups or (len(word) > 1 and word.startswith("-")):
            groups.append([])
        groups[-1].append(word)
    return groups


def _has(report: str, option: str) -> bool:
    """The report joins a phase's options with spaces; an option is there when each of its flags is."""
    stored = _flags(report)
    return all(flag in stored for flag in _flags(option))


def _without(report: str, option: str) -> str:
    gone = _flags(option)
    return " ".join(shlex.join(flag) for flag in _flags(report) if flag not in gone)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "app": {"type": "str", "required": True},
            "options": {"type": "list", "elements": "str", "required": True},
            "phases": {"type": "list", "elements": "str", "choices": ["build", "deploy", "run"], "default": ["deploy"]},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        supports_check_mode=True,
    )
    app, present = module.params["app"], module.params["state"] == "present"
    options = [o.strip() for o in module.params["options"]]
    if not all(options):
        module.fail_json(msg="options must not be empty")
    dokku = DokkuCli(module)
    before, after = {}, {}
    for phase in module.params["phases"]:
        report = before[phase] = after[phase] = dokku.read("docker-options:report", app, f"--docker-options-{phase}")
        for option in (o for o in options if _has(report, o) != present):
            dokku.write("docker-options:add" if present else "docker-options:remove", app, phase, option)
            after[phase] = f"{after[phase]} {option}".strip() if present else _without(after[phase], option)
    dokku.exit(changed=before != after, before=before, after=after)


if __name__ == "__main__":
    main()
