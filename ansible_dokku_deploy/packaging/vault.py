"""Decrypts the app's vault/*.yml (ansible-vault) into secret settings; every value is registered for masking."""

from __future__ import annotations

import re

from ansible_dokku_deploy import output
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.packaging import Packaging
from ansible_dokku_deploy.packaging.load import TOO_DEEP, load_yaml

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
    return _decrypt_files(packaging, password, app)


class VaultError(ValueError):
    """The data is not an ansible-vault AES256 file this password opens."""


def open_vault(data: bytes, password: str) -> bytes:
    """Decrypt ansible-vault's format 1.1/1.2 (AES256): hex of `hex(salt)\nhex(hmac)\nhex(ciphertext)`; PBKDF2-SHA256
    (10,000 rounds) gives the AES-256-CTR key, the HMAC-SHA256 key and the counter; PKCS7 padding. Done here with
    `cryptography` rather than by importing Ansible, which costs a deploy hook a tenth of a second."""
    from cryptography.exceptions import InvalidSignature  # noqa: PLC0415  # only apps with a vault pay for it
    from cryptography.hazmat.primitives import hashes, hmac, padding  # noqa: PLC0415
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: PLC0415
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC  # noqa: PLC0415

    header, _, body = data.strip().partition(b"\n")
    fields = header.strip().split(b";")
    if fields[:1] != [b"$ANSIBLE_VAULT"] or fields[1:2] not in ([b"1.1"], [b"1.2"]) or fields[2:3] != [b"AES256"]:
        raise VaultError("not an ansible-vault AES256 file")
    try:
        salt, tag, ciphertext = (
            bytes.fromhex(part.decode()) for part in bytes.fromhex(b"".join(body.split()).decode()).split(b"\n")
        )
    except ValueError:
        raise VaultError("damaged vault data") from None
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=80, salt=salt, iterations=10000)
    keys = kdf.derive(password.encode())
    check = hmac.HMAC(keys[32:64], hashes.SHA256())
    check.update(ciphertext)
    try:
        check.verify(tag)
    except InvalidSignature:
        raise VaultError("wrong password") from None
    decryptor = Cipher(algorithms.AES(keys[:32]), modes.CTR(keys[64:80])).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise VaultError("damaged vault data") from None


def _decrypt_files(packaging: Packaging, password: str, app: str) -> tuple[dict[str, str], list[DeployError]]:
    values: dict[str, str] = {}
    problems: list[DeployError] = []
    for rel in packaging.vault_files:
        try:
            text = open_vault((packaging.root / rel).read_bytes(), password).decode("utf-8")
        except (VaultError, UnicodeDecodeError):
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
        except DeployError as exc:  # the location is safe to show; the YAML problem text may quote values
            problem = (
                f"{TOO_DEEP} once decrypted" if exc.message == TOO_DEEP else "does not hold valid YAML once decrypted"
            )
            problems.append(DeployError(problem, where=exc.where or rel))
            continue
        if not isinstance(data, dict) or not all(isinstance(k, str) and _KEY.fullmatch(k) for k in data):
            message = "must decrypt to a mapping of setting names (letters, digits, _) to values"
            problems.append(DeployError(message, where=rel))
            continue
        for key, value in data.items():
            if isinstance(value, (dict, list)) or value is None:
                problems.append(DeployError(f"{key}: expected a plain value", where=rel))
                continue
            text_value = ("true" if value else "false") if isinstance(value, bool) else str(value)
            if output.too_short_to_mask(text_value):
                problems.append(
                    DeployError(
                        f"{key}: the value has fewer than {output.MIN_SECRET_LENGTH} characters, too short to be "
                        "masked in output",
                        where=rel,
                        hint="Use a longer secret; a value that is no secret goes in env.yml's env.",
                    )
                )
                continue
            output.register_secret(text_value)
            values[key] = text_value
    return values, problems
