"""The `ansible-deploy:set` keys, one registry, over Dokku's property store (one 0600 file per key)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError

GLOBAL = "--global"


@dataclass(frozen=True)
class Setting:
    key: str
    description: str
    default: str = ""
    kind: str = "str"  # str, int or bool
    secret: bool = False
    per_app: bool = True
    minimum: int = 0

    def parse(self, value: str) -> str:
        """The stored form of value, or a DeployError saying what is expected."""
        if self.kind == "int":
            if not value.isdigit() or int(value) < self.minimum:
                raise DeployError(f"{self.key} expects a whole number of at least {self.minimum}, not {value!r}")
            return str(int(value))
        if self.kind == "bool" and value not in ("true", "false"):
            raise DeployError(f"{self.key} expects true or false, not {value!r}")
        return value


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("keep-runs", "Run records and logs kept per app", "20", "int", minimum=1),
        Setting("keep-releases", "Staged packaging releases kept per app", "5", "int", minimum=2),
        Setting("lock-timeout", "Seconds a run waits for another run of the same app", "600", "int"),
        Setting("verbosity", "Ansible verbosity (0-4) in the run logs", "0", "int"),
    )
}


def lookup(key: str) -> Setting:
    try:
        return SETTINGS[key]
    except KeyError:
        import difflib  # noqa: PLC0415  # only on the error path

        close = difflib.get_close_matches(key, SETTINGS, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise DeployError(
            f"Invalid key specified: {key}", hint=f"{hint}Valid keys include: {', '.join(sorted(SETTINGS))}"
        ) from None


@dataclass(frozen=True)
class Store:
    """Property files at $DOKKU_LIB_ROOT/config/ansible-deploy/(APP|--global)/KEY, raw values without newline."""

    dokku: Dokku

    def _path(self, app: str, key: str) -> Path:
        return self.dokku.config_dir(app) / key

    def get(self, app: str, key: str) -> str:
        try:
            return self._path(app, key).read_text()
        except FileNotFoundError:
            return ""

    def put(self, app: str, key: str, value: str) -> None:
        path = self._path(app, key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{key}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        tmp.replace(path)

    def delete(self, app: str, key: str) -> None:
        self._path(app, key).unlink(missing_ok=True)

    def computed(self, app: str, key: str) -> str:
        """App value, else global value, else the built-in default."""
        return self.get(app, key) or self.get(GLOBAL, key) or SETTINGS[key].default

    def computed_int(self, app: str, key: str) -> int:
        return int(self.computed(app, key))
