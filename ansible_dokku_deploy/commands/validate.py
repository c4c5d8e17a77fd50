"""ansible-deploy:validate [<dir>] [--format stdout|json]"""

from __future__ import annotations

import json
from pathlib import Path

from ansible_dokku_deploy import output
from ansible_dokku_deploy.commands import take_format
from ansible_dokku_deploy.errors import AlreadyReportedError, PackagingError, UsageError
from ansible_dokku_deploy.packaging.validate import validate_tree

USAGE = "[<dir>] [--format stdout|json]"
DESCRIPTION = "Checks a packaging dir (env.yml vault/ nginx.conf.d/ ansible/) without deploying"


def main(args: list[str]) -> None:
    fmt, rest = take_format(args)
    as_json = fmt == "json"
    if len(rest) > 1:
        raise UsageError("Please specify at most one directory", hint=f"Usage: dokku ansible-deploy:validate {USAGE}")
    root = Path(rest[0] if rest else ".")
    try:
        if not root.is_dir():
            raise UsageError(f"{root} is not a directory")
        next(root.iterdir(), None)  # raises when the directory cannot be read
    except OSError as exc:
        raise UsageError(f"cannot read {root}: {exc.strerror}") from None
    try:
        packaging = validate_tree(root)
    except PackagingError as invalid:
        if not as_json:
            raise
        output.plain(json.dumps({"valid": False, "problems": [p.as_dict() for p in invalid.problems]}, indent=2))
        raise AlreadyReportedError(1) from None
    if as_json:
        document = {"valid": True, "problems": [], "features": packaging.features, "files": packaging.files}
        output.plain(json.dumps(document, indent=2))
        return
    output.step(f"{root}: the packaging files are valid")
    output.detail(f"features: {', '.join(packaging.features) or 'none'}")
    output.detail(f"files: {', '.join(packaging.files)}")
