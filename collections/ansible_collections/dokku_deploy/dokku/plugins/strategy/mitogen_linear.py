"""Strategy: Mitogen's mitogen_linear, without Mitogen's CPU pinning.

Mitogen pins Ansible's processes to fixed CPUs on Linux (ansible_mitogen.affinity). On a server with fewer than
four, the top-level process, its workers and the interpreter that runs the modules then share one CPU, so two runs
at once (two deploys, a deploy and a backup) take as long as one after the other, and every program a task starts
(restic, dokku, a packager's step) inherits that mask and sees one CPU (mitogen-hq/mitogen#648). The plugin's
runs leave placement to the kernel: Mitogen's base policy places nothing.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: mitogen_linear
short_description: Mitogen's mitogen_linear strategy, with no CPU pinning
description:
  - Runs every task of a run in one Python over a pipe, as Mitogen's C(mitogen_linear) does.
  - Leaves the placement of Ansible's processes, and of the programs the tasks start, to the kernel.
author: ansible-deploy developers
"""

import ansible_mitogen.affinity
import ansible_mitogen.loaders
import ansible_mitogen.strategy

ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()  # read at each process's set-up, not before

Linear = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, Linear):  # type: ignore[misc,valid-type]
    """mitogen_linear, as Mitogen defines it."""
