"""Every module's documentation renders with ansible-doc (shared fragment included) and names its options."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from ansible_dokku_deploy import COLLECTIONS_PATH
from ansible_dokku_deploy.runner import RUN_LOCALE

MODULES = sorted(
    p.stem for p in (REPO / "collections/ansible_collections/dokku_deploy/dokku/plugins/modules").glob("*.py")
)


def _ansible_doc(name: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    venv_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{venv_bin}:{os.environ['PATH']}",
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
        "ANSIBLE_HOME": str(tmp_path),
        **RUN_LOCALE,  # ansible-doc refuses a locale the host lacks, as the plugin's runs would without it
    }
    return subprocess.run(
        [str(venv_bin / "ansible-doc"), "--json", f"dokku_deploy.dokku.{name}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("name", MODULES)
def test_module_documentation_renders(name: str, tmp_path: Path) -> None:
    result = _ansible_doc(name, tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"app"' in result.stdout and '"check_mode"' in result.stdout


class _Spec(Exception):  # noqa: N818  # not an error: how the module's argument_spec comes back
    def __init__(self, **kwargs: object) -> None:
        self.kwargs = kwargs


def _argument_spec(name: str) -> dict:
    """The argument_spec the module gives AnsibleModule, taken from a run of its main() that stops there."""
    path = REPO / f"collections/ansible_collections/dokku_deploy/dokku/plugins/modules/{name}.py"
    spec = importlib.util.spec_from_file_location(f"_doc_check_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def capture(**kwargs: object) -> None:
        raise _Spec(**kwargs)

    module.AnsibleModule = capture
    with pytest.raises(_Spec) as caught:
        module.main()
    return caught.value.kwargs["argument_spec"]


@pytest.mark.parametrize("name", MODULES)
def test_module_documentation_says_what_its_argument_spec_does(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What validate-modules (ansible-test sanity) checks, which cannot run here: it fetches pip from the net."""
    monkeypatch.syspath_prepend(str(REPO / "collections"))
    documented = json.loads(_ansible_doc(name, tmp_path).stdout)[f"dokku_deploy.dokku.{name}"]["doc"]["options"]
    spec = _argument_spec(name)
    assert set(documented) == set(spec), "every option documented, and only those"
    for option, wanted in spec.items():
        doc = documented[option]
        for field, default in (("type", "str"), ("required", False), ("default", None), ("elements", None)):
            assert doc.get(field, default) == wanted.get(field, default), f"{option}: {field}"
        assert sorted(doc.get("choices") or []) == sorted(wanted.get("choices") or []), f"{option}: choices"
        assert doc.get("description"), f"{option} has no description"
