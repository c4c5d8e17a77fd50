"""What this process has to tell the world before it ends: the runs it finished (to notify, then prune the
history) and whether the apps' metrics changed. The modules that record runs and results post here; the entry
point delivers once, at the end (announce.deliver), so phases and backups never write metrics or send mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ansible_dokku_deploy.history import Run


@dataclass
class Outbox:
    runs: list[Run] = field(default_factory=list)  # finished, oldest first
    metrics_changed: bool = False

    def post_run(self, run: Run) -> None:
        self.runs.append(run)
        self.metrics_changed = True

    def post_metrics(self) -> None:
        self.metrics_changed = True

    def take(self) -> tuple[list[Run], bool]:
        """What is pending, emptied (a second delivery sends nothing twice)."""
        pending = (self.runs, self.metrics_changed)
        self.runs, self.metrics_changed = [], False
        return pending

    def __bool__(self) -> bool:
        return bool(self.runs) or self.metrics_changed


OUTBOX = Outbox()  # one per process: every hook and command is a process of its own
