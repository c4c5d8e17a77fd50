"""The row_count_query filter quotes every identifier, so a hostile table name stays a name."""

from __future__ import annotations

import importlib.util

from conftest import REPO

PATH = REPO / "collections/ansible_collections/dokku_deploy/dokku/plugins/filter/row_count_query.py"
spec = importlib.util.spec_from_file_location("row_count_query", PATH)
assert spec and spec.loader
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)


def test_one_query_counts_every_table_in_order() -> None:
    query = module.row_count_query([["public", "a"], ["s", "b"]], "postgres")
    assert query == 'SELECT 0 AS i, count(*) AS n FROM "public"."a" UNION ALL SELECT 1 AS i, count(*) AS n FROM "s"."b"'


def test_quotes_inside_names_are_doubled() -> None:
    assert module.row_count_query(['x"; DROP TABLE y; --'], "postgres").endswith('FROM "x""; DROP TABLE y; --"')
    assert module.row_count_query(["x`; DROP TABLE y"], "mysql").endswith("FROM `x``; DROP TABLE y`")
