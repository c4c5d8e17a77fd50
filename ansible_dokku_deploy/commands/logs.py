"""ansible-deploy:logs <app> [<run-id>] [--tail N]"""

from __future__ import annotations

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError, UsageError
from ansible_dokku_deploy.history import History

USAGE = "<app> [<run-id>] [--tail N]"
DESCRIPTION = "Shows the Ansible log of the app's last run or of the given run"


def main(args: list[str]) -> None:
    rest, tail = list(args), 0
    if "--tail" in rest:
        i = rest.index("--tail")
        if i + 1 >= len(rest) or not rest[i + 1].isdigit():
            raise UsageError("--tail expects a number of lines")
        tail = int(rest[i + 1])
        del rest[i : i + 2]
    if not 1 <= len(rest) <= 2:  # noqa: PLR2004  # app and optional run id
        raise UsageError("Please specify an app", hint=f"Usage: dokku ansible-deploy:logs {USAGE}")
    dokku = Dokku.from_environ()
    app = dokku.require_app(rest[0])
    history = History(dokku.data_dir(app))
    run = history.get(rest[1]) if len(rest) == 2 else history.last(include_check=True)  # noqa: PLR2004
    if run is None:
        raise DeployError(
            f"no run {rest[1]!r} for {app}" if len(rest) == 2 else f"{app} has no runs yet",  # noqa: PLR2004
            hint=f"List them with: dokku ansible-deploy:history {app}",
        )
    path = history.log_path(run.id)
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    output.header(f"{app} run {run.id} ({run.phase}, {run.status})")
    for line in lines[-tail:] if tail else lines:
        output.plain(line)
