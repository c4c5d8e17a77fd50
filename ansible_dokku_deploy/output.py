"""Dokku's voice (-----> / =====> / ' !     ') and the one place that redacts secrets before printing."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TextIO

MASK = "********"
MIN_SECRET_LENGTH = 4  # masking a shorter string everywhere would garble ordinary text, so such secrets are refused
_secrets: set[str] = set()
_progress_to_stderr = False
_thread = threading.local()  # .held: the lines a thread working alongside says later


def register_secret(value: str) -> None:
    """Never print this value again, in any output of this process."""
    for part in (value, *value.splitlines()):
        if len(part.strip()) >= MIN_SECRET_LENGTH:
            _secrets.add(part.strip())


def too_short_to_mask(value: str) -> bool:
    """A secret that register_secret could not mask (empty is no secret: there is nothing to show)."""
    return 0 < len(value.strip()) < MIN_SECRET_LENGTH


def redact(text: str) -> str:
    """Replace every registered secret in text by a mask."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def quiet() -> bool:
    return bool(os.environ.get("DOKKU_QUIET_OUTPUT"))


def _emit(stream: TextIO, prefix: str, message: str) -> None:
    lines = [f"{prefix}{line}\n" for line in redact(message).splitlines() or [""]]
    held = getattr(_thread, "held", None)
    if held is not None:
        held.append((stream, lines))
        return
    stream.writelines(lines)
    stream.flush()


@contextlib.contextmanager
def alongside(work: Callable[[], None] | None) -> Iterator[None]:
    """Run work in a thread while the block runs (a slow side task beside an Ansible run); what it says is held
    back and said once both are done, so it never lands in the middle of the run's progress. Its failure is
    raised then, unless the block failed first."""
    if work is None:
        yield
        return
    held: list[tuple[TextIO, list[str]]] = []
    failed: list[BaseException] = []

    def run() -> None:
        _thread.held = held
        try:
            work()
        except BaseException as exc:  # noqa: BLE001  # raised again in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="alongside", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
        for stream, lines in held:
            stream.writelines(lines)
            stream.flush()
    if failed:
        raise failed[0]


def progress_to_stderr() -> None:
    """Steps, headers and details go to stderr from now on: stdout is kept for one document (--format json)."""
    global _progress_to_stderr  # noqa: PLW0603  # one switch for the whole process
    _progress_to_stderr = True


def _progress() -> TextIO:
    return sys.stderr if _progress_to_stderr else sys.stdout


def step(message: str) -> None:
    """`-----> message`, a step as it happens."""
    _emit(_progress(), "-----> ", message)


def header(message: str) -> None:
    """`=====> message`, suppressed by --quiet like Dokku's info2_quiet."""
    if not quiet():
        _emit(_progress(), "=====> ", message)


def detail(message: str) -> None:
    """Seven-space indented detail line."""
    _emit(_progress(), "       ", message)


def plain(message: str) -> None:
    _emit(sys.stdout, "", message)


def warn(message: str) -> None:
    """` !     message` on stderr."""
    _emit(sys.stderr, " !     ", message)
