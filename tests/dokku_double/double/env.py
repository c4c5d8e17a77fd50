"""The double's environment, on-disk layout, property store and Dokku-style output."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

VERSION = "0.38.27"
NOT_IMPLEMENTED = 10
APP_MISSING = 20
NEW_APP_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
OLD_APP_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
HELPERS = Path(__file__).resolve().parent.parent / "bin"  # root helpers, as Dokku's plugins ship theirs
INSTALLED_HELPERS = Path("/usr/local/libexec/dokku-double")  # root's copies, named in sudoers (install-system-packages)


class Fail(Exception):  # noqa: N818  # mirrors dokku_log_fail
    """` !     message` on stderr, then exit with code (dokku_log_fail)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def privileged_command(helper: str, *args: str) -> list[str]:
    """How the dokku user runs a root helper: `sudo -n -E` (the sudoers rule keeps the environment, as Dokku's
    keeps DOKKU_LIB_ROOT); as root, the helper itself."""
    if os.geteuid() == 0:
        return [str(HELPERS / helper), *args]
    return ["sudo", "-n", "-E", str(INSTALLED_HELPERS / helper), *args]


def privileged(helper: str, *args: str) -> None:
    """What Dokku's plugins run with `sudo HELPER ARGS`; its ` !     ` message is the failure's."""
    done = subprocess.run(privileged_command(helper, *args), check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise Fail(done.stderr.strip().removeprefix(" !     ") or f"{helper} failed")


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """Run a nested command's *_quiet output silently, as Dokku's internal calls do."""
    before = os.environ.get("DOKKU_QUIET_OUTPUT")
    os.environ["DOKKU_QUIET_OUTPUT"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["DOKKU_QUIET_OUTPUT"]


def quiet() -> bool:
    return bool(os.environ.get("DOKKU_QUIET_OUTPUT"))


def info1(msg: str) -> None:
    print(f"-----> {msg}", flush=True)


def info1_quiet(msg: str) -> None:
    if not quiet():
        info1(msg)


def info2_quiet(msg: str) -> None:
    if not quiet():
        print(f"=====> {msg}", flush=True)


def verbose(msg: str) -> None:
    print(f"       {msg}", flush=True)


def verbose_quiet(msg: str) -> None:
    if not quiet():
        verbose(msg)


def warn(msg: str) -> None:
    print(f" !     {msg}", file=sys.stderr, flush=True)


class Env:
    """Where this Dokku keeps its apps and its data (a plain class: dataclasses would import inspect, a tenth of
    every dokku call's start)."""

    __slots__ = ("lib_root", "root")

    def __init__(self, root: Path, lib_root: Path) -> None:
        self.root = root  # DOKKU_ROOT
        self.lib_root = lib_root  # DOKKU_LIB_ROOT

    @classmethod
    def from_environ(cls) -> Env:
        return cls(Path(os.environ["DOKKU_ROOT"]), Path(os.environ["DOKKU_LIB_ROOT"]))

    @property
    def plugin_path(self) -> Path:
        return self.lib_root / "plugins"

    def app_dir(self, app: str) -> Path:
        return self.root / app

    def app_exists(self, app: str) -> bool:
        return bool(OLD_APP_NAME.match(app)) and self.app_dir(app).is_dir()

    def verify_app(self, app: str | None) -> str:
        if not app:
            raise Fail("Please specify an app to run the command on")
        if not self.app_exists(app):
            raise Fail(f"App {app} does not exist", APP_MISSING)
        return app

    def apps(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and p.name[0] != "." and not p.name[0].isupper()
        )

    # --- property store: $DOKKU_LIB_ROOT/config/PLUGIN/APP/KEY, raw values without newline
    def prop_path(self, plugin: str, app: str, key: str) -> Path:
        return self.lib_root / "config" / plugin / app / key

    def prop_get(self, plugin: str, app: str, key: str, default: str = "") -> str:
        path = self.prop_path(plugin, app, key)
        return path.read_text() if path.exists() else default

    def prop_set(self, plugin: str, app: str, key: str, value: str) -> None:
        path = self.prop_path(plugin, app, key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        path.write_text(value)
        path.chmod(0o600)

    def prop_delete(self, plugin: str, app: str, key: str) -> None:
        self.prop_path(plugin, app, key).unlink(missing_ok=True)

    def command_property_set(self, plugin: str, app: str, prop: str, value: str, valid: Iterable[str]) -> None:
        """`PLUGIN:set APP|--global PROPERTY [VALUE]` once the app is checked: plugins/common/properties.go
        CommandPropertySet, which every plugin's set subcommand calls; an empty value unsets the property."""
        if not prop:
            raise Fail("No property specified")
        if prop not in valid:
            raise Fail(f"Invalid property specified, valid properties include: {', '.join(valid)}")
        if value:
            info2_quiet(f"Setting {prop} to {value}")
            self.prop_set(plugin, app, prop, value)
        else:
            info2_quiet(f"Unsetting {prop}")
            self.prop_delete(plugin, app, prop)

    def prop_list(self, plugin: str, app: str, key: str) -> list[str]:
        return [line for line in self.prop_get(plugin, app, key).splitlines() if line]

    def prop_list_set(self, plugin: str, app: str, key: str, values: list[str]) -> None:
        self.prop_set(plugin, app, key, "\n".join(values))

    def prop_json(self, plugin: str, app: str, key: str) -> dict[str, object]:
        raw = self.prop_get(plugin, app, key)
        return json.loads(raw) if raw else {}

    def data_dir(self, plugin: str, app: str) -> Path:
        path = self.lib_root / "data" / plugin / app
        path.mkdir(parents=True, exist_ok=True)
        return path
