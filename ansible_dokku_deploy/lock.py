"""Per-app run lock (runs of one app never overlap) and Dokku's deploy lock for runs outside a deploy."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from ansible_dokku_deploy import output
from ansible_dokku_deploy.errors import LockError
from ansible_dokku_deploy.staging import secure_dir


@contextlib.contextmanager
def app_lock(data_dir: Path, app: str, timeout: int) -> Iterator[None]:
    """flock on $DATA/APP/.lock, waiting up to timeout seconds; the kernel frees it if the holder dies."""
    fd = os.open(secure_dir(data_dir) / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockError(
                        f"{app} still has another ansible-deploy run in progress after {timeout}s",
                        hint="Try again when it ends (see `dokku ansible-deploy:history`), or raise lock-timeout.",
                    ) from None
                if not waiting:
                    output.step(f"{app} has another ansible-deploy run in progress. Waiting...")
                    waiting = True
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def dokku_deploy_lock(lock_file: Path, app: str) -> Iterator[None]:
    """Dokku's own exclusive deploy lock, for work outside a deploy (like `acquire_app_deploy_lock APP exclusive`)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockError(
                f"{app} currently has a deploy lock in place. Exiting...",
                hint="Run 'apps:unlock' to release the existing deploy lock",
            ) from None
        os.write(fd, str(os.getpid()).encode())
        yield
        fcntl.flock(fd, fcntl.LOCK_UN)
        lock_file.unlink(missing_ok=True)
    finally:
        os.close(fd)
