"""A run's variables reach Ansible as data: read as ansible-playbook reads `-e @file` (which trusts a file's strings
as templates), not one of them is a template, and each comes back as it was given."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ansible import context
from ansible.module_utils.common.collections import ImmutableDict
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, is_trusted_as_template, trust_as_template
from ansible.utils.vars import load_extra_vars
from hypothesis import given
from hypothesis import strategies as st

from ansible_dokku_deploy.runner import as_data

TEXT = st.lists(st.sampled_from(["{{", "{%", "{#", "}}", *"{}%#'\"\\$ \n\tab7é\u2028"])).map("".join)
NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
VARIABLES = st.dictionaries(
    NAME,
    st.recursive(
        TEXT | st.integers() | st.booleans() | st.none(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NAME, inner, max_size=4),
        max_leaves=12,
    ),
    max_size=6,
)


def as_ansible_reads_them(variables: dict[str, object], folder: Path) -> dict[str, object]:
    """The variables written as the runner writes env/extravars, then loaded as `ansible-playbook -e @FILE` does."""
    path = folder / "extravars"
    path.write_text(json.dumps(as_data(variables)))
    context.CLIARGS = ImmutableDict(extra_vars=[f"@{path}"])
    load_extra_vars.extra_vars = None  # type: ignore[attr-defined]  # Ansible keeps the first load for the process
    return load_extra_vars(DataLoader())


def strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@given(variables=VARIABLES)
def test_no_variable_is_a_template_and_each_comes_back_as_given(variables: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        loaded = as_ansible_reads_them(variables, Path(folder))
    assert loaded == variables
    assert not any(is_trusted_as_template(s) for s in strings(loaded))


def test_a_pipe_lookup_in_a_setting_renders_as_its_own_text(tmp_path: Path) -> None:
    value = "{{ lookup('pipe', 'echo ran') }}"
    loaded = as_ansible_reads_them({"config_values": {"GREETING": value}}, tmp_path)
    templar = Templar(loader=DataLoader(), variables=loaded)
    assert templar.template(trust_as_template("{{ config_values.GREETING }}")) == value
