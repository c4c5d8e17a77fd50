"""Filter: one SQL query that counts the rows of every given table, each row (i, n) in the tables' order."""

from __future__ import annotations

DOCUMENTATION = r"""
name: row_count_query
short_description: One query counting the rows of many tables
description:
  - Builds C(SELECT 0 AS i, count(*) AS n FROM t0 UNION ALL SELECT 1, count(*) FROM t1 ...), every identifier
    quoted for the engine (C("...") for PostgreSQL, backticks for MariaDB/MySQL), so table names are never code.
options:
  _input:
    description: The tables, each a name or a list of name parts (C([schema, table])).
    type: list
    elements: raw
    required: true
  engine:
    description: The SQL dialect.
    type: str
    choices: [postgres, mysql]
    required: true
author: ansible-deploy developers
"""

EXAMPLES = r"""
query: "{{ [['public', 'items']] | dokku_deploy.dokku.row_count_query('postgres') }}"
"""

RETURN = r"""
_value:
  description: The query.
  type: str
"""

QUOTES = {"postgres": '"', "mysql": "`"}


def _quote(part: str, engine: str) -> str:
    mark = QUOTES[engine]
    return mark + str(part).replace(mark, mark * 2) + mark


def row_count_query(tables: list[str | list[str]], engine: str) -> str:
    return " UNION ALL ".join(
        f"SELECT {i} AS i, count(*) AS n FROM "  # noqa: S608  # every identifier quoted by _quote
        + ".".join(_quote(p, engine) for p in ([parts] if isinstance(parts, str) else parts))
        for i, parts in enumerate(tables)
    )


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"row_count_query": row_count_query}
