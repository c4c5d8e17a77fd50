"""Decrypts the app's vault/*.yml (ansible-vault) into secret settings; every value is registered for masking."""

from __future__ import annotations

import os
import re
import tempfile

from ansible_dokku_deploy import output
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.packaging.load import load_yaml
from ansible_dokku_deploy.packaging.validate import Packaging

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def decrypt(packaging: Packaging, password: str, app: str) -> tuple[dict[str, str], list[DeployError]]:
    """All vault settings, merged in file order, and the problems found (no secret value ever in a message)."""
    if not packaging.vault_files:
        return {}, []
    if not password:
        return {}, [
            DeployError(
                f"is encrypted, but no vault password is set for {app}",
                where=packaging.vault_files[0],
                hint=f"The admin sets it: dokku ansible-deploy:vault-password {app} < password-file",
            )
        ]
    output.register_secret(password)
    with tempfile.TemporaryDirectory(prefix="ansible-deploy-vault-") as scratch:
        # Importing Ansible sets up its local temp dir: keep it private and out of the user's home.
        os.environ.setdefault("ANSIBLE_HOME", scratch)
        os.environ.setdefault("ANSIBLE_LOCAL_TEMP", scratch)
        return _decrypt_files(packaging, password, app)


def _decrypt_files(packaging: Packaging, password: str, app: str) -> tuple[dict[str, str], list[DeployError]]:
    from ansible.parsing.vault import AnsibleVaultError, VaultLib, VaultSecret  # noqa: PLC0415  # heavy import

    vault = VaultLib([("default", VaultSecret(password.encode()))])
    values: dict[str, str] = {}
    problems: list[DeployError] = []
    for rel in packaging.vault_files:
        try:
            text = vault.decrypt((packaging.root / rel).read_bytes()).decode("utf-8")
        except (AnsibleVaultError, UnicodeDecodeError):
            problems.append(
                DeployError(
                    f"the vault password set for {app} does not decrypt it",
                    where=rel,
                    hint=f"Use that password, or set the right one: dokku ansible-deploy:vault-password {app}",
                )
            )
            continue
        try:
            data = load_yaml(text, rel).data
        except DeployError as exc:  # the location is safe to show; the YAML problem text never quotes values
            problems.append(DeployError("does not hold valid YAML once decrypted", where=exc.where or rel))
            continue
        if not isinstance(data, dict) or not all(isinstance(k, str) and _KEY.match(k) for k in data):
            message = "must decrypt to a mapping of setting names (letters, digits, _) to values"
            problems.append(DeployError(message, where=rel))
            continue
        for key, value in data.items():
            if isinstance(value, (dict, list)) or value is None:
                problems.append(DeployError(f"{key}: expected a plain value", where=rel))
                continue
            text_value = ("true" if value else "false") if isinstance(value, bool) else str(value)
            output.register_secret(text_value)
            values[key] = text_value
    return values, problems
