"""Filter: a backup pipeline's error output in plain words (the plugin's restic module says what restic means)."""

from __future__ import annotations

from ansible_dokku_deploy.restic import explain

DOCUMENTATION = r"""
name: restic_reason
short_description: Why a backup pipeline failed, in plain words
description:
  - Turns the error output of a pipeline into or out of restic into one sentence for an admin, such as
    C(the repository password is wrong) or C(the disk is full); when restic did not fail, the last line of the
    other command's error output.
options:
  _input:
    description: The pipeline's standard error.
    type: str
    required: true
author: ansible-deploy developers
"""

EXAMPLES = r"""
msg: "{{ backups_streamed.stderr | dokku_deploy.dokku.restic_reason }}"
"""

RETURN = r"""
_value:
  description: The sentence.
  type: str
"""


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"restic_reason": explain}
