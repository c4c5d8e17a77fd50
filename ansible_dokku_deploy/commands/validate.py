"""ansible-deploy:validate [<dir>]"""

from __future__ import annotations

from pathlib import Path

from ansible_dokku_deploy import output
from ansible_dokku_deploy.errors import UsageError
from ansible_dokku_deploy.packaging.validate import validate_tree

USAGE = "[<dir>]"
DESCRIPTION = "Checks a packaging dir (env.yml, vault/, nginx.conf.d/, ansible/) without deploying"


def main(args: list[str]) -> None:
    if len(args) > 1:
        raise UsageError("Please specify at most one directory", hint=f"Usage: dokku ansible-deploy:validate {USAGE}")
    root = Path(args[0] if args else ".")
    try:
        if not root.is_dir():
            raise UsageError(f"{root} is not a directory")
        next(root.iterdir(), None)  # raises when the directory cannot be read
    except OSError as exc:
        raise UsageError(f"cannot read {root}: {exc.strerror}") from None
    packaging = validate_tree(root)
    output.step(f"{root}: the packaging files are valid")
    output.detail(f"features: {', '.join(packaging.features) or 'none'}")
    output.detail(f"files: {', '.join(packaging.files)}")
