"""The plugin's error types: each says where the problem is and how to fix it."""

from __future__ import annotations


class DeployError(Exception):
    """A problem a person can fix; printed without a traceback."""

    exit_code = 1

    def __init__(
        self, message: str, *, where: str | None = None, hint: str | None = None, key: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.where = where  # FILE or FILE:LINE
        self.hint = hint
        self.key = key  # the key path inside the file (`storage[0].path`), when the problem is a key's

    def lines(self) -> list[str]:
        """The error as Dokku-style lines, location first and hint last."""
        head = ": ".join(part for part in (self.where, self.key, self.message) if part)
        return [head] + ([self.hint] if self.hint else [])

    def as_dict(self) -> dict[str, str | int | None]:
        """file, line, key, message, hint: for tools (ansible-deploy:validate --format json)."""
        file, _, line = (self.where or "").rpartition(":")
        if not line.isdigit():
            file, line = self.where or "", ""
        line_number = int(line) if line else None
        return {"file": file or None, "line": line_number, "key": self.key, "message": self.message, "hint": self.hint}


class PackagingError(DeployError):
    """The app's packaging files are invalid; carries every problem found."""

    def __init__(self, problems: list[DeployError]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the packaging files")
        self.problems = problems

    def lines(self) -> list[str]:
        out: list[str] = []
        for p in self.problems:
            first, *rest = p.lines()
            out.append(first)
            out.extend(f"  {r}" for r in rest)
        return out


class UsageError(DeployError):
    """A command was called with the wrong arguments."""


class AppMissingError(DeployError):
    """The app does not exist; Dokku's exit code for that is 20."""

    exit_code = 20

    def __init__(self, app: str) -> None:
        super().__init__(f"App {app} does not exist")


class LockError(DeployError):
    """Another run of the same app holds the lock."""


class ProvisioningError(DeployError):
    """An Ansible run failed."""


class AlreadyReportedError(DeployError):
    """The command has printed its whole answer (a JSON document); only its exit code is left to give."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(f"exit {exit_code}")
        self.exit_code = exit_code

    def lines(self) -> list[str]:
        return []
