"""The app-side packaging format: env.yml, vault/, nginx.conf.d/ and ansible/."""

from __future__ import annotations

from ansible_dokku_deploy.packaging.validate import Packaging, validate_tree

__all__ = ["Packaging", "validate_tree"]
