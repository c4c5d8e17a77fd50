"""Dokku's environment and on-disk layout, as the plugin sees it from a trigger or a command."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_dokku_deploy import PLUGIN_NAME
from ansible_dokku_deploy.errors import AppMissingError, DeployError

DATA_NAME = "ansible"  # the plugin's data dir: $DOKKU_LIB_ROOT/data/ansible/$APP
SETTINGS_DIR = ".settings"  # $DOKKU_LIB_ROOT/data/ansible/.settings/(APP|--global)/KEY; no app name starts with '.'
_APP_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")  # Dokku still accepts existing names with '_'
_NEVER_SET = "ANSIBLE_DEPLOY_NEW_RELEASE"  # a setting the plugin never sets: unset, it only makes a new release


@dataclass(frozen=True)
class Dokku:
    root: Path
    lib_root: Path

    @classmethod
    def from_environ(cls) -> Dokku:
        return cls(
            root=Path(os.environ.get("DOKKU_ROOT") or "/home/dokku"),
            lib_root=Path(os.environ.get("DOKKU_LIB_ROOT") or "/var/lib/dokku"),
        )

    @property
    def data_root(self) -> Path:
        return self.lib_root / "data" / DATA_NAME

    @property
    def config_root(self) -> Path:
        """The plugin's settings, kept beside its data rather than at Dokku's usual $DOKKU_LIB_ROOT/config/PLUGIN:
        an app may be named like the plugin, its ENV lives in config/APP, and config's post-delete removes that
        folder on apps:destroy (plugins/config/triggers.go), which would take every app's settings with it."""
        return self.data_root / SETTINGS_DIR

    @property
    def legacy_config_root(self) -> Path:
        """Where settings were kept before (Dokku's property layout); install moves them to config_root."""
        return self.lib_root / "config" / PLUGIN_NAME

    def data_dir(self, app: str) -> Path:
        return self.data_root / check_app_name(app)

    def config_dir(self, app: str) -> Path:
        return self.config_root / (app if app == "--global" else check_app_name(app))

    def app_dir(self, app: str) -> Path:
        return self.root / check_app_name(app)

    @property
    def acme_webroots(self) -> Path:
        """Where the apps' http-01 answers are, for nginx's workers to serve: they run as www-data, who may look
        neither into $DOKKU_ROOT (0700) nor into the plugin's data (0700), so this folder (0755) is outside both."""
        return self.lib_root / "data" / f"{DATA_NAME}-acme"

    def acme_webroot(self, app: str) -> Path:
        return self.acme_webroots / check_app_name(app)

    def scheduler(self, app: str) -> str:
        """The app's computed scheduler, read as scheduler:report computes it (plugins/scheduler/report.go): the
        app's `selected` property, else the global one, else docker-local (plugins/common/properties.go keeps each
        in $DOKKU_LIB_ROOT/config/scheduler/(APP|--global)/selected)."""
        return self._selected("scheduler", app) or "docker-local"

    def selected_builder(self, app: str) -> str:
        """The builder the admin selected for the app (builder:set APP|--global selected), empty when the tree
        decides: read as the builder plugin's builder-detect reads it (plugins/builder/triggers.go)."""
        return self._selected("builder", app)

    def _selected(self, plugin: str, app: str) -> str:
        for owner in (check_app_name(app), "--global"):
            try:
                selected = (self.lib_root / "config" / plugin / owner / "selected").read_text().strip()
            except OSError:
                continue
            if selected:
                return selected
        return ""

    def deploy_lock(self, app: str) -> Path:
        return self.lib_root / "data" / "apps" / app / ".deploy.lock"

    def apps(self) -> list[str]:
        """Every app, by Dokku's rule: a directory under DOKKU_ROOT not starting with '.' or an uppercase letter."""
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return []
        return sorted(e.name for e in entries if not e.name.startswith(".") and not e.name[0].isupper() and e.is_dir())

    def vhosts(self) -> dict[str, list[str]]:
        """Every app's domains, as Dokku's domains plugin keeps them: $DOKKU_ROOT/APP/VHOST, the names separated
        by white space (plugins/domains/report.go reads them so); an app without the file has none. One listing
        and a small read per app: a push on a server of 500 apps reads them all."""
        found = {}
        for app in self.apps():
            try:
                found[app] = (self.root / app / "VHOST").read_bytes().decode(errors="replace").split()
            except OSError:
                continue
        return found

    def release_and_deploy(self, app: str) -> None:
        """A new release with the current settings, then a deploy (post-deploy and the health check run for it).

        Not `ps:restart`: it only deploys, and herokuish images keep the settings baked at their release
        (builder-herokuish/builder-release). Not `ps:rebuild`: it builds the branch's last push again. Dokku's
        `config:set` without --no-restart fires release-and-deploy; the setting that holds the pushed commit, set to
        its own value, changes nothing. Without one (rev-env-var set empty, or no push yet wrote it), `config:unset`
        of a key no one sets changes nothing either, and Dokku releases and deploys all the same (config.go
        `UnsetMany` restarts whether or not a key was set). An app that was never deployed is not released, as
        Dokku does."""
        import subprocess  # noqa: PLC0415  # every hook imports this module; only rollback releases

        def dokku(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["dokku", *args], check=False, text=True, capture_output=True)  # noqa: S603, S607

        name = self.rev_env_var(app)
        rev = dokku("config:get", app, name) if name else None
        if name and rev and rev.returncode == 0:
            result = dokku("config:set", app, f"{name}={rev.stdout.strip()}")
        else:
            result = dokku("config:unset", app, _NEVER_SET)
        sys.stdout.write("".join(line for line in result.stdout.splitlines(keepends=True) if _NEVER_SET not in line))
        sys.stderr.write(result.stderr)
        if result.returncode != 0 or "Failure while restarting app" in result.stderr:  # config.go only warns
            raise DeployError(f"the new release of {app} failed", hint="See its output above.")

    def rev_env_var(self, app: str) -> str:
        """The setting Dokku's pushes write their commit into: the app's `rev-env-var` git property, GIT_REV while it
        was never set, none ("") once `git:set APP rev-env-var ""` set it empty; Dokku reads no global value for it
        (plugins/git/functions `git_build`, plugins/git/git-revision; the property in config/git/APP/)."""
        try:
            return (self.lib_root / "config" / "git" / check_app_name(app) / "rev-env-var").read_text().strip()
        except FileNotFoundError:
            return "GIT_REV"

    def succeeds(self, *args: str) -> bool:
        """Whether a read-only dokku command exits 0 (`postgres:exists NAME`)."""
        import subprocess  # noqa: PLC0415  # see release_and_deploy

        done = subprocess.run(["dokku", "--quiet", *args], check=False, capture_output=True)  # noqa: S603, S607
        return done.returncode == 0

    def answer(self, *args: str) -> str | None:
        """A read-only dokku command's output (`config:get APP DATABASE_URL`), stripped; None when it fails (a
        service plugin that is not installed, a key that is not set)."""
        import subprocess  # noqa: PLC0415  # see release_and_deploy

        done = subprocess.run(["dokku", "--quiet", *args], check=False, text=True, capture_output=True)  # noqa: S603, S607
        return done.stdout.strip() if done.returncode == 0 else None

    def read_json(self, *args: str) -> Any:
        """A read-only dokku command's JSON answer (`storage:list-entries --format json`); a failed one fails."""
        import json  # noqa: PLC0415

        return json.loads(self.read(*args) or "[]")

    def read(self, *args: str) -> str:
        """A read-only dokku command's answer (`ports:report APP --ports-map`); a failed one fails."""
        import subprocess  # noqa: PLC0415  # see release_and_deploy

        done = subprocess.run(["dokku", "--quiet", *args], check=False, text=True, capture_output=True)  # noqa: S603, S607
        if done.returncode != 0:
            raise DeployError(f"dokku {args[0]} failed (exit {done.returncode}): {done.stderr.strip() or done.stdout}")
        return done.stdout

    def change(self, *args: str) -> None:
        """A dokku command that changes something (`storage:unmount APP ENTRY --container-dir PATH`); a failed one
        fails."""
        import subprocess  # noqa: PLC0415  # see release_and_deploy

        done = subprocess.run(["dokku", "--quiet", *args], check=False, text=True, capture_output=True)  # noqa: S603, S607
        if done.returncode != 0:
            raise DeployError(f"dokku {args[0]} failed (exit {done.returncode}): {done.stderr.strip() or done.stdout}")

    def set_port_map_unseen_by_nginx(self, app: str, maps: list[str]) -> None:
        """`ports:set` without the nginx rebuild it triggers (plugins/nginx-vhosts/post-proxy-ports-update rebuilds
        only for an app whose proxy type is nginx; `proxy:set` triggers nothing), the app's own proxy type put back
        whatever happens. The running containers listen on the container port they were started with: nginx
        learns a new one only at a deploy's own rebuild, with the containers started on it. As the ports
        module does (collections/.../modules/ports.py)."""
        if self.read("proxy:report", app, "--proxy-computed-type").strip() != "nginx":
            self.change("ports:set", app, *maps)
            return
        own = self.read("proxy:report", app, "--proxy-type").strip()
        self.change("proxy:set", app, "type", "none")
        try:
            self.change("ports:set", app, *maps)
        finally:
            self.change("proxy:set", app, "type", *([own] if own else []))

    def require_app(self, app: str) -> str:
        if not (self.root / check_app_name(app)).is_dir():
            raise AppMissingError(app)
        return app


def check_app_name(app: str) -> str:
    if not _APP_NAME.fullmatch(app):
        raise DeployError(
            f"{app!r} is not a valid app name",
            hint="App names are lowercase letters, digits, dots and hyphens, starting with a letter or digit.",
        )
    return app
