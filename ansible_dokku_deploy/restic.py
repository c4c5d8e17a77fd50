"""The backup repository, through restic: where it is, how restic reaches it, and the restic commands the plugin
runs itself (the backups role streams dumps into it with the same environment and flags).

restic encrypts on this host, deduplicates, and speaks a local folder, SFTP, S3 and its REST server; its `forget`
policies are the retention and `check` the integrity. The location and the keys reach restic through its
environment and the password through a 0600 file, never through a process's arguments.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.settings import GLOBAL, Store
from ansible_dokku_deploy.staging import secure_dir, write_private

LOCAL = ".restic"  # the local repository, in backup-dir (an app name never starts with a dot)
LOCAL_PASSWORD = ".local-repository-password"  # noqa: S105  # a file name; generated, beside the global settings: the local one has no admin's
TAG = "ansible-deploy"  # on every snapshot the plugin takes; with app=APP, backup=ID, release=ID and kind=...

# restic's commands that take its exclusive lock (restic 0.14: forget, prune, check, tag...): while one runs, any other
# restic run on the repository fails at once ("already locked"), and restic before 0.16 has no --retry-lock. So
# every restic run of the plugin on this server first takes a lock of the plugin's own for the repository: shared
# for the others, exclusive for these; they wait for each other instead of failing.
EXCLUSIVE = frozenset({"init", "forget", "prune", "check", "tag", "rebuild-index", "repair", "migrate"})

# What restic says, and what it means to an admin (the first that matches; otherwise restic's own last line).
REASONS = (
    ("wrong password or no key found", "the repository password is wrong"),
    ("no space left on device", "the disk is full"),
    ("connection refused", "the repository cannot be reached (connection refused)"),
    ("no such host", "the repository's host name does not resolve"),
    ("i/o timeout", "the repository did not answer in time"),
    ("context deadline exceeded", "the repository did not answer in time"),
    ("InvalidAccessKeyId", "the repository refused the S3 access key"),
    ("SignatureDoesNotMatch", "the repository refused the S3 secret key"),
    ("AccessDenied", "the repository refused access with these S3 keys"),
    ("Access Denied", "the repository refused access with these S3 keys"),
    ("already locked", "another restic run holds the repository's lock"),
    ("Is there a repository at the following location?", "there is no repository at that location"),
    ("certificate", "the repository's TLS certificate is not trusted (backup-repository-ca-file)"),
)


def reason(stderr: str) -> str:
    """restic's error output in plain words."""
    for needle, meaning in REASONS:
        if needle.lower() in stderr.lower():
            return meaning
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1].removeprefix("Fatal: ") if lines else "restic failed without saying why"


class ResticError(DeployError):
    """A restic command failed; message names the repository and says why in plain words."""


def backup_dir(dokku: Dokku) -> Path:
    return Path(Store(dokku).get(GLOBAL, "backup-dir") or dokku.data_root / ".backups")


def location(dokku: Dokku) -> str:
    """Where backups go: the admin's backup-repository, else the local repository in backup-dir."""
    return Store(dokku).get(GLOBAL, "backup-repository") or str(backup_dir(dokku) / LOCAL)


@dataclass(frozen=True)
class Repository:
    location: str
    password_file: Path
    cache_dir: Path
    keys: dict[str, str] = field(default_factory=dict, repr=False)  # S3 keys, as restic's environment names them
    ca_file: str = ""
    timeout: int = 3600  # seconds one restic command may take

    @classmethod
    def configured(cls, dokku: Dokku) -> Repository:
        """The admin's backup-repository, else the local one in backup-dir (made, with its password, on first use)."""
        store = Store(dokku)
        where = location(dokku)
        if store.get(GLOBAL, "backup-repository"):
            if not store.get(GLOBAL, "backup-repository-password"):
                raise DeployError(
                    "backup-repository is set, but backup-repository-password is not",
                    hint="Set it from a file: dokku ansible-deploy:set --global backup-repository-password - < FILE "
                    "(keep a copy off this server: without it no backup can be read).",
                )
            password_file = store.path(GLOBAL, "backup-repository-password")
        else:
            password_file = dokku.config_dir(GLOBAL) / LOCAL_PASSWORD
            if not password_file.exists():
                secure_dir(password_file.parent)
                write_private(password_file, secrets.token_urlsafe(32).encode())
        keys = {
            name: value
            for name, key in (
                ("AWS_ACCESS_KEY_ID", "backup-s3-access-key-id"),
                ("AWS_SECRET_ACCESS_KEY", "backup-s3-secret-access-key"),
            )
            if (value := store.get(GLOBAL, key))
        }
        return cls(
            location=where,
            password_file=password_file,
            cache_dir=dokku.data_root / ".cache" / "restic",
            keys=keys,
            ca_file=store.get(GLOBAL, "backup-repository-ca-file"),
            timeout=store.computed_int(GLOBAL, "backup-timeout"),
        )

    @property
    def local(self) -> bool:
        return ":" not in self.location.split("/", 1)[0]  # s3:, sftp:, rest:, ... name a backend; a path does not

    def environment(self) -> dict[str, str]:
        """restic's environment (for the role too): the repository, the password's file, the keys, the cache."""
        return {
            "RESTIC_REPOSITORY": self.location,
            "RESTIC_PASSWORD_FILE": str(self.password_file),
            "RESTIC_CACHE_DIR": str(self.cache_dir),
            **self.keys,
        }

    def flags(self) -> list[str]:
        """restic's global flags the plugin always passes."""
        return ["--cacert", self.ca_file] if self.ca_file else []

    def role_inputs(self) -> dict[str, Any]:
        """What the backups role needs to run restic as this module does (its lock too, shared)."""
        secure_dir(self.lock_file.parent)
        return {
            "restic_env": self.environment(),
            "restic_flags": self.flags(),
            "timeout": self.timeout,
            "restic_lock": str(self.lock_file),
        }

    @property
    def lock_file(self) -> Path:
        """The plugin's own lock of this repository, on this server (EXCLUSIVE)."""
        return self.cache_dir.parent / "restic-locks" / hashlib.sha256(self.location.encode()).hexdigest()[:16]

    @contextlib.contextmanager
    def _locked(self, command: str) -> Iterator[None]:
        """Hold the plugin's lock of the repository for one restic command: exclusive for those restic locks
        exclusively, else shared; wait for it up to the timeout."""
        secure_dir(self.lock_file.parent)
        mode = fcntl.LOCK_EX if command in EXCLUSIVE else fcntl.LOCK_SH
        with self.lock_file.open("a") as held:
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    fcntl.flock(held, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ResticError(waited(self.timeout, self.location)) from None
                    time.sleep(0.2)
            yield  # closing the file releases the lock

    def run(self, *args: str, stdin: IO[bytes] | None = None, what: str = "", held: bool = False) -> str:
        """restic ARGS; its stdout, or a ResticError that says in plain words why it failed."""
        secure_dir(self.cache_dir)
        if self.local:
            secure_dir(Path(self.location).parent)
        try:
            with contextlib.nullcontext() if held else self._locked(args[0]):  # held: by the caller, exclusively
                done = subprocess.run(  # noqa: S603  # argv list, no shell
                    ["restic", *self.flags(), *args],  # noqa: S607  # restic from the system's PATH
                    stdin=stdin if stdin is not None else subprocess.DEVNULL,
                    capture_output=True,
                    env={**os.environ, **self.environment()},
                    check=False,
                    timeout=self.timeout,
                )
        except subprocess.TimeoutExpired as exc:
            why = output.redact(reason((exc.stderr or b"").decode(errors="replace")))  # read raw, said masked
            raise ResticError(
                f"{what or 'restic ' + args[0]} did not finish within {self.timeout} s: {why} ({self.location})"
            ) from None
        except FileNotFoundError:
            raise ResticError(
                "restic is not installed", hint="Install it: sudo apt-get install restic (the plugin's install does)"
            ) from None
        if done.returncode != 0:
            why = output.redact(reason(done.stderr.decode(errors="replace")))  # read raw, said masked
            raise ResticError(f"{what or 'restic ' + args[0]} failed: {why} ({self.location})")
        return done.stdout.decode()

    def ensure(self) -> None:
        """Initialise the repository when there is none yet; fail in plain words when it cannot be reached."""
        try:
            self.run("cat", "config", what="opening the backup repository")
        except ResticError as exc:
            if "there is no repository" not in exc.message:
                raise
            self._init()

    def _init(self) -> None:
        """restic init, once: runs that found no repository at the same moment (apps deployed or backed up together)
        would each write a config and a key, and on S3 the last config wins over keys made for another, which
        leaves a repository no key opens. So: under the exclusive lock, and only when there is still none."""
        with self._locked("init"):
            try:
                self.run("cat", "config", what="opening the backup repository", held=True)
            except ResticError as exc:
                if "there is no repository" not in exc.message:
                    raise
            else:
                return  # another run made it meanwhile
            self.run("init", what="creating the backup repository", held=True)
        output.step(f"ansible-deploy: created the backup repository {self.location}")

    def snapshots(self, *tags: str, create: bool = False) -> list[dict[str, Any]]:
        """The plugin's snapshots that carry every one of tags, oldest first; none when there is no repository
        (which create makes)."""
        try:
            listed = self.run("snapshots", "--json", "--tag", ",".join((TAG, *tags)), what="listing the backups")
        except ResticError as exc:
            if "there is no repository" not in exc.message:
                raise
            if create:
                self._init()
            return []
        return list(json.loads(listed or "[]"))

    def backup_stdin(self, source: IO[bytes], filename: str, tags: list[str], when: str) -> None:
        """Stream source into one snapshot named filename, taken at when (restic's --time)."""
        self.run(
            "backup", "--quiet", "--stdin", "--stdin-filename", filename, "--tag", ",".join((TAG, *tags)),
            "--time", when, stdin=source, what="writing to the backup repository",
        )  # fmt: skip

    def forget(self, app: str, policy: dict[str, int], *, protect: str = "") -> list[dict[str, Any]]:
        """Apply the retention policy to the app's own snapshots (each kind on its own), and prune; restic's
        account of it: per group, the snapshots kept and removed."""
        flags = [f"--{name}={count}" for name, count in policy.items() if count]
        if protect:
            flags += ["--keep-tag", f"backup={protect}"]
        done = self.run(
            "forget", "--quiet", "--json", "--prune", "--tag", f"{TAG},app={app}", "--group-by", "host,paths",
            *flags, what="pruning old backups",
        )  # fmt: skip
        return list(json.loads(done or "[]"))

    def remove(self, snapshot_ids: list[str]) -> None:
        if snapshot_ids:
            self.run("forget", "--quiet", "--prune", *snapshot_ids, what="removing snapshots")

    def check(self) -> None:
        """restic's check of the repository's structure (every blob a drill restores is authenticated as read)."""
        self.run("check", what="checking the backup repository")


def waited(timeout: int, where: str) -> str:
    return (
        f"another backup, restore or drill on this server held the backup repository for {timeout} s, "
        f"the backup-timeout; nothing was written ({where})"
    )


def explain(stderr: str) -> str:
    """A pipeline's error output (a dump or a restore into restic, or out of it) in plain words: restic's part
    when restic failed (its Fatal line, or its retries when it was stopped), else the last line of the other
    command's."""
    fatal = stderr.find("Fatal:")
    if fatal >= 0:
        return reason(stderr[fatal:])
    retries = [line for line in stderr.splitlines() if "returned error, retrying" in line]
    if retries:
        return reason(retries[-1])
    # GNU tar ends with "Exiting with failure status due to previous errors": the error is the line before
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and "Exiting with failure status" not in line]
    return lines[-1] if lines else "the command failed without saying why"
