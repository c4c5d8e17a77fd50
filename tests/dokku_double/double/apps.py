"""apps:* (Go plugin in Dokku)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

from double import deploy, services
from double.env import NEW_APP_NAME, Env, Fail, info1, info1_quiet, info2_quiet, warn
from double.plugins import cron_write, trigger, trigger_honoured

HOOK = """#!/usr/bin/env bash
set -e
set -o pipefail

cat | DOKKU_ROOT="{root}" {dokku} git-hook {app}
"""


def validate_new_name(app: str) -> None:
    if not NEW_APP_NAME.match(app):
        raise Fail(
            "App name must begin with lowercase alphanumeric character, "
            "and may only contain lowercase alphanumerics, dots, and hyphens"
        )


def create(env: Env, app: str) -> None:
    """createApp: the app dir (a bare git repo with Dokku's pre-receive hook), created-at, post-create."""
    validate_new_name(app)
    if env.app_exists(app):
        raise Fail("Name is already taken")
    info1_quiet(f"Creating {app}...")
    app_dir = env.app_dir(app)
    app_dir.mkdir(parents=True, mode=0o755)
    subprocess.run(["git", "init", "-q", "--bare", str(app_dir)], check=True)
    hook = app_dir / "hooks" / "pre-receive"
    hook.write_text(HOOK.format(root=env.root, dokku=os.environ["DOKKU_BIN"], app=app))
    hook.chmod(0o755)
    env.prop_set("apps", app, "created-at", str(int(time.time())))
    trigger_honoured(env, "post-create", app)


def cmd_create(env: Env, args: list[str]) -> int:
    if not args:
        raise Fail("Please specify an app to run the command on")
    create(env, args[0])
    return 0


def cmd_exists(env: Env, args: list[str]) -> int:
    env.verify_app(args[0] if args else None)
    return 0


def cmd_list(env: Env, args: list[str]) -> int:
    apps = env.apps()
    if "--format" in args and args[args.index("--format") + 1] == "json":
        print(json.dumps(apps))
        return 0
    info2_quiet("My Apps")
    if not apps:
        warn("You haven't deployed any applications yet")
    for app in apps:
        print(app)
    return 0


def destroy(env: Env, app: str) -> None:
    """destroyApp: pre-delete, stop processes, post-delete, then remove the app's files."""
    trigger_honoured(env, "pre-delete", app, "latest")
    services.forget_app(env, app)  # the service plugins' pre-delete
    deploy.stop_processes(env, app)
    trigger_honoured(env, "post-delete", app, "latest")
    shutil.rmtree(env.app_dir(app), ignore_errors=True)
    for path in (
        env.lib_root / "config" / app,
        env.lib_root / "data" / "ps" / app,
        env.lib_root / "data" / "apps" / app,
    ):
        shutil.rmtree(path, ignore_errors=True)
    for plugin_config in (env.lib_root / "config").glob(f"*/{app}"):
        shutil.rmtree(plugin_config, ignore_errors=True)
    cron_write(env)  # the cron plugin's post-delete


def cmd_destroy(env: Env, args: list[str]) -> int:
    force = "--force" in args or os.environ.get("DOKKU_APPS_FORCE_DELETE") == "1"
    names = [a for a in args if a != "--force"]
    app = env.verify_app(names[0] if names else None)
    if not force:
        warn("WARNING: Potentially Destructive Action")
        warn(f"This command will destroy app {app}.")
        warn(f'To proceed, type "{app}"')
        answer = sys.stdin.readline().strip() if not sys.stdin.isatty() else input("> ")
        if answer != app:
            raise Fail(f"Confirmation did not match {app}. Aborted.")
    info1(f"Destroying {app} (including all add-ons)")
    os.environ["DOKKU_APPS_FORCE_DELETE"] = "1"
    destroy(env, app)
    return 0


def _copy_app(env: Env, old: str, new: str) -> None:
    for src, dst in ((env.lib_root / "config" / old, env.lib_root / "config" / new),):
        if src.exists():
            shutil.copytree(src, dst, dirs_exist_ok=True)
    for plugin_config in (env.lib_root / "config").glob(f"*/{old}"):
        if plugin_config.parent.name != "storage":  # see _copy_attachments
            shutil.copytree(plugin_config, plugin_config.parent / new, dirs_exist_ok=True)
    # plugins/git/post-app-clone-setup and post-app-rename-setup: `find ./*` (no top-level dotfiles) pruning
    # VHOST, URLS, cache and .cache at any depth, copied with cpio; the new app's hooks are its own
    skipped = shutil.ignore_patterns("VHOST", "URLS", "cache", ".cache")
    old_dir, new_dir = env.app_dir(old), env.app_dir(new)
    for item in old_dir.iterdir():
        if item.name == "hooks" or item.name.startswith(".") or skipped(str(old_dir), [item.name]):
            continue
        dest = new_dir / item.name
        if item.is_dir():
            shutil.copytree(item, dest, dirs_exist_ok=True, symlinks=True, ignore=skipped)
        else:
            shutil.copy2(item, dest)


def _copy_attachments(env: Env, old: str, new: str) -> None:
    """The storage plugin's post-app-clone-setup and post-app-rename-setup (plugins/storage/triggers.go): the old
    app's attachments saved for the new one. plugn runs each trigger's plugins in name order, so this comes after
    the ansible-deploy plugin's hook, which cannot see them yet."""
    attachments = env.lib_root / "config" / "storage" / old
    if attachments.exists():
        shutil.copytree(attachments, attachments.parent / new, dirs_exist_ok=True)


def cmd_rename(env: Env, args: list[str]) -> int:
    skip = "--skip-deploy" in args
    names = [a for a in args if not a.startswith("--")]
    if len(names) != 2:
        raise Fail("Please specify an app to run the command on")
    old, new = env.verify_app(names[0]), names[1]
    if env.app_exists(new):
        raise Fail("Name is already taken")
    was_deployed = deploy.is_deployed(env, old)
    info1(f"Renaming {old} to {new}")
    create(env, new)
    _copy_app(env, old, new)
    vhosts = env.app_dir(old) / "VHOST"  # plugins/domains/post-app-rename-setup (a clone gets new defaults)
    if vhosts.exists():
        default = (env.root / "VHOST").read_text().split() if (env.root / "VHOST").exists() else []
        text = vhosts.read_text()
        for domain in default:
            text = text.replace(f"{old}.{domain}", f"{new}.{domain}")
        (env.app_dir(new) / "VHOST").write_text(text)
    trigger_honoured(env, "post-app-rename-setup", old, new)
    _copy_attachments(env, old, new)
    services.add_to_links(env, old, new)  # the service plugins' post-app-rename-setup
    os.environ["DOKKU_APPS_FORCE_DELETE"] = "1"
    destroy(env, old)
    trigger(env, "post-app-rename", old, new)
    if was_deployed and not skip:
        deploy.rebuild(env, new)
    return 0


def cmd_clone(env: Env, args: list[str]) -> int:
    skip = "--skip-deploy" in args
    names = [a for a in args if not a.startswith("--")]
    old, new = env.verify_app(names[0]), names[1]
    if env.app_exists(new):
        if "--ignore-existing" in args:
            warn("Name is already taken")
            return 0
        raise Fail("Name is already taken")
    info1_quiet(f"Cloning {old} to {new}")
    create(env, new)
    _copy_app(env, old, new)  # with config's post-app-clone-setup: the ENV, DATABASE_URL included
    trigger_honoured(env, "post-app-clone-setup", old, new)
    _copy_attachments(env, old, new)
    services.add_to_links(env, old, new)  # the service plugins' post-app-clone-setup
    # plugins/apps/subcommands.go: post-app-clone next; plugn runs the plugins' hooks before ps's, whose
    # TriggerPostAppClone rebuilds the clone (plugins/ps/triggers.go); a failed hook fails the clone
    trigger_honoured(env, "post-app-clone", old, new)
    if deploy.is_deployed(env, old) and not skip:
        deploy.rebuild(env, new)
    return 0


def cmd_lock(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    path = deploy.lock_path(env, app)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    info1_quiet("Deploy lock created")
    return 0


def cmd_locked(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    if deploy.lock_path(env, app).exists():
        info1_quiet("Deploy lock exists")
        return 0
    raise Fail("Deploy lock does not exist")


def cmd_unlock(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    warn("A deploy may be in progress.")
    warn("Removing the app lock will not stop in progress deploys.")
    path = deploy.lock_path(env, app)
    if not path.exists():
        raise Fail("Unable to remove deploy lock")
    path.unlink()
    info1_quiet("Deploy lock removed.")
    return 0


COMMANDS = {
    "apps:create": cmd_create,
    "apps:exists": cmd_exists,
    "apps:list": cmd_list,
    "apps": cmd_list,
    "apps:destroy": cmd_destroy,
    "apps:rename": cmd_rename,
    "apps:clone": cmd_clone,
    "apps:lock": cmd_lock,
    "apps:locked": cmd_locked,
    "apps:unlock": cmd_unlock,
}
