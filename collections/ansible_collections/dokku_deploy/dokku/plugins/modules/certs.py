"""Module: an app's Dokku TLS certificate, installed with certs:add when it differs."""

from __future__ import annotations

DOCUMENTATION = r"""
module: certs
short_description: Ensure Dokku serves the given certificate for an app
description:
  - Finds the app's certificate folder with C(certs:report APP --ssl-dir), compares the installed certificate and key
    with the given files, and runs one C(certs:add APP CRT KEY) when they differ.
  - C(certs:add) also maps https:443 for every http:80 mapping and rebuilds the app's nginx config.
extends_documentation_fragment: [dokku_deploy.dokku.app]
options:
  cert:
    description: Path of the certificate (full chain), readable by the dokku user.
    type: path
    required: true
  key:
    description: Path of its private key, readable by the dokku user.
    type: path
    required: true
author: ansible-deploy developers
"""

EXAMPLES = r"""
- name: Ensure Dokku serves the app's certificate
  dokku_deploy.dokku.certs:
    app: hello
    cert: /var/lib/dokku/data/ansible/hello/tls/server.crt
    key: /var/lib/dokku/data/ansible/hello/tls/server.key
"""

RETURN = r"""
commands:
  description: The dokku commands run (or that would run in check mode).
  returned: always
  type: list
"""

import hashlib
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dokku_deploy.dokku.plugins.module_utils.dokku import DokkuCli


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "app": {"type": "str", "required": True},
            "cert": {"type": "path", "required": True},
            "key": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    app, cert, key = module.params["app"], module.params["cert"], module.params["key"]
    dokku = DokkuCli(module)
    folder = Path(dokku.read("certs:report", app, "--ssl-dir"))
    before = {"cert": _digest(folder / "server.crt"), "key": _digest(folder / "server.key")}
    after = {"cert": _digest(Path(cert)), "key": _digest(Path(key))}
    changed = before != after
    if changed:
        if not module.check_mode and not after["cert"]:
            module.fail_json(msg=f"{cert} does not exist", commands=dokku.commands)
        dokku.write("certs:add", app, cert, key)
    dokku.exit(changed=changed, before=before, after=after)


if __name__ == "__main__":
    main()
