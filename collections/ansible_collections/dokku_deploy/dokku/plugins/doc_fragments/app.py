"""Documentation shared by every dokku_deploy.dokku module: the app option, check mode and diff."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  app:
    description: The Dokku app.
    type: str
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""
