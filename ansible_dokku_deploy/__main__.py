"""`python -m ansible_dokku_deploy …`: the one entry point of every stub."""

from __future__ import annotations

import sys

from ansible_dokku_deploy.cli import main

sys.exit(main(sys.argv[1:]))
