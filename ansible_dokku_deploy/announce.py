"""The end of every hook and command (cli.main): what its outbox holds goes out once. Each finished run is
notified (a delivery problem is written into the run's log, never failing anything), its app's history is pruned
to keep-runs, and the metrics are rewritten when anything they show changed."""

from __future__ import annotations

import contextlib

from ansible_dokku_deploy import monitoring, notify
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.history import History
from ansible_dokku_deploy.outbox import OUTBOX
from ansible_dokku_deploy.settings import Store


def deliver(dokku: Dokku) -> None:
    runs, metrics_changed = OUTBOX.take()
    store = Store(dokku)
    for run in runs:
        history = History(dokku.data_dir(run.app))
        for problem in notify.send(store, run):
            with contextlib.suppress(OSError), history.log_path(run.id).open("a") as log:  # gone with its app
                log.write(f"ansible-deploy: {problem}\n")
    for app in dict.fromkeys(run.app for run in runs):
        History(dokku.data_dir(app)).prune(store.computed_int(app, "keep-runs"))
    if metrics_changed:
        monitoring.write_metrics(dokku)
