"""The packaging as this server sees it: validated, vault decrypted, and the admin's rules applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError, PackagingError
from ansible_dokku_deploy.packaging import Packaging, validate_tree
from ansible_dokku_deploy.packaging.validate import Passed
from ansible_dokku_deploy.packaging.vault import decrypt
from ansible_dokku_deploy.server import dns_config
from ansible_dokku_deploy.settings import Store
from ansible_dokku_deploy.staging import secure_dir


@dataclass(frozen=True)
class Resolved:
    packaging: Packaging
    secrets: dict[str, str] = field(repr=False)


def packaging_for(dokku: Dokku, app: str, root: Path, *, check_nginx: bool = False) -> Packaging:
    """The packaging in the app's environment (the vault left encrypted)."""
    passed = Passed(secure_dir(dokku.data_dir(app)) / ".passed")
    environment = Store(dokku).computed(app, "environment")
    return validate_tree(root, check_nginx=check_nginx, environment=environment, passed=passed)


def resolve(dokku: Dokku, app: str, root: Path, *, check_nginx: bool = True) -> Resolved:
    """Everything a push is checked against on the server; PackagingError lists every problem."""
    store = Store(dokku)
    packaging = packaging_for(dokku, app, root, check_nginx=check_nginx)
    problems: list[DeployError] = []
    dns = dns_config(store, app)
    if dns is not None:
        problems.extend(dns.outside(packaging.spec.get("domains", [])))
    secrets, vault_problems = decrypt(packaging, store.computed(app, "vault-password"), app)
    problems.extend(vault_problems)
    problems.extend(
        DeployError(f"env: {key} is also a vault setting", where="env.yml", hint="Keep a setting in one place only.")
        for key in sorted(set(secrets) & set(packaging.spec.get("env", {})))
    )
    if packaging.spec.get("steps") and store.computed(app, "allow-custom-steps") != "true":
        problems.append(
            DeployError(
                f"steps: custom steps run on the host, and are not allowed for {app}",
                where="env.yml",
                hint=f"The admin allows them with: dokku ansible-deploy:set {app} allow-custom-steps true",
            )
        )
    if problems:
        raise PackagingError(problems)
    return Resolved(packaging, secrets)
