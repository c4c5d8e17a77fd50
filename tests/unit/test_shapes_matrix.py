"""The all-pairs matrix of app shapes (tests/shapes.py) that tests/integration/test_shapes.py pushes: which pairs of
the packaging's parts it covers, and that every shape is a packaging the plugin accepts."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from shapes import PARAMETERS, SHAPES, Shape, all_pairs

from ansible_dokku_deploy.packaging.validate import validate_tree


def test_every_pair_of_values_of_two_parts_is_in_some_shape() -> None:
    for a, b in itertools.combinations(PARAMETERS, 2):
        for va, vb in itertools.product(PARAMETERS[a], PARAMETERS[b]):
            assert any(s.parts[a] == va and s.parts[b] == vb for s in SHAPES), f"no shape has {a}={va}, {b}={vb}"


def test_the_matrix_is_generated_the_same_every_time_and_far_smaller_than_every_combination() -> None:
    assert all_pairs(PARAMETERS) == [s.parts for s in SHAPES]
    product = 1
    for values in PARAMETERS.values():
        product *= len(values)
    biggest = sorted((len(v) for v in PARAMETERS.values()), reverse=True)
    assert biggest[0] * biggest[1] <= len(SHAPES) <= 12 < product  # 9 at the least, 1152 in all
    assert all(set(s.parts) == set(PARAMETERS) for s in SHAPES)
    assert len({s.app for s in SHAPES}) == len(SHAPES)


def test_the_generator_covers_every_pair_of_any_parameters() -> None:
    """Not only of ours: a parameter of one value, of four, and a table where greedy choices collide."""
    tables: list[dict[str, tuple[str | int | bool, ...]]] = [
        {"a": (1,), "b": (1, 2, 3, 4), "c": (True, False)},
        {f"p{i}": (0, 1, 2) for i in range(5)},
    ]
    for table in tables:
        rows = all_pairs(table)
        for a, b in itertools.combinations(table, 2):
            assert {(r[a], r[b]) for r in rows} == set(itertools.product(table[a], table[b]))


@pytest.mark.parametrize("shape", SHAPES, ids=[s.id for s in SHAPES])
def test_every_shape_is_a_packaging_the_plugin_accepts(tmp_path: Path, shape: Shape) -> None:
    (tmp_path / "env.yml").write_text(yaml.safe_dump(shape.env_yml(shape.app, "red")))
    if shape.parts["steps"]:
        (tmp_path / "ansible").mkdir()
        (tmp_path / "ansible" / "mark.yml").write_text("---\n- name: Mark\n  hosts: localhost\n  tasks: []\n")
    environment = "staging" if shape.parts["environments"] else ""
    packaging = validate_tree(tmp_path, check_nginx=False, environment=environment)
    features = set(packaging.features)
    wanted = {
        "database": shape.database != "none",
        "storage": bool(shape.storage),
        "backups": bool(shape.parts["backups"]),
        "tls": shape.parts["tls"] == "acme",
        "monitoring": bool(shape.parts["monitoring"]),
        "steps": bool(shape.parts["steps"]),
    }
    assert {name for name, on in wanted.items() if on} == features & set(wanted)
    assert packaging.spec["env"]["TIER"] == ("staging" if environment else "base")
