"""The plugin's error types: each says where the problem is and how to fix it."""

from __future__ import annotations


class DeployError(Exception):
    """A problem a person can fix; printed without a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def lines(self) -> list[str]:
        """The error as Dokku-style lines, location first and hint last."""
        head = f"{self.where}: {self.message}" if self.where else self.message
        return [head] + ([self.hint] if self.hint else [])


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
