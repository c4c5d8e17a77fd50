"""App shapes generated, not hand-picked: an all-pairs matrix over the packaging's optional parts.

Every value of every parameter meets every value of every other parameter in at least one shape, in far fewer
shapes than the full product (3 x 3 x 2^7 = 1152): a bug that needs two parts together (a database without storage,
backups with two storage folders, an environment with TLS) is in some shape. The generator is deterministic (the
same matrix on every run and every worker) and greedy: each new shape starts from the first pair not yet covered
and gives every other parameter the value that covers most pairs still missing.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Value = str | int | bool
Pair = tuple[str, Value, str, Value]  # (parameter, value, later parameter, value), in PARAMETERS' order

# The packaging's optional parts, the admin's database backend and how the app is renamed, each with the values a
# shape may take.
PARAMETERS: dict[str, tuple[Value, ...]] = {
    "database": ("none", "postgres", "mysql"),
    "storage": (0, 1, 2),  # how many storage folders
    "backend": ("server", "dokku-service"),  # the admin's database-backend setting for the app
    "backups": (False, True),  # a backups schedule in env.yml
    "tls": ("none", "acme"),
    "monitoring": (False, True),
    "steps": (False, True),  # the packager's own pre-deploy and post-deploy playbooks
    "environments": (False, True),  # the app runs a named environment of env.yml
    # Not a part of the packaging, a step of the life cycle: apps:rename deploys the app under its new name, or
    # leaves that to the next push (--skip-deploy).
    "rename": ("deploy", "skip-deploy"),
}


def pairs_of(row: Mapping[str, Value], names: Sequence[str]) -> set[Pair]:
    """The pairs of values a shape covers (of the parameters named, in that order)."""
    return {(a, row[a], b, row[b]) for a, b in itertools.combinations(names, 2) if a in row and b in row}


def every_pair(parameters: Mapping[str, Sequence[Value]]) -> set[Pair]:
    return {
        (a, va, b, vb) for a, b in itertools.combinations(parameters, 2) for va in parameters[a] for vb in parameters[b]
    }


def all_pairs(parameters: Mapping[str, Sequence[Value]]) -> list[dict[str, Value]]:
    """Rows (one value per parameter) that together hold every pair of values of two parameters."""
    names = list(parameters)
    missing = every_pair(parameters)
    order = {pair: i for i, pair in enumerate(sorted(missing, key=lambda p: _position(parameters, p)))}
    rows: list[dict[str, Value]] = []
    while missing:
        a, va, b, vb = min(missing, key=order.__getitem__)
        row: dict[str, Value] = {a: va, b: vb}
        for name in names:
            if name not in row:
                row[name] = max(parameters[name], key=lambda v, n=name: len(pairs_of({**row, n: v}, names) & missing))
        rows.append({name: row[name] for name in names})
        missing -= pairs_of(row, names)
    return rows


def _position(parameters: Mapping[str, Sequence[Value]], pair: Pair) -> tuple[int, int, int, int]:
    names = list(parameters)
    a, va, b, vb = pair
    return names.index(a), list(parameters[a]).index(va), names.index(b), list(parameters[b]).index(vb)


@dataclass(frozen=True)
class Shape:
    """One app of the matrix: its parameters, its name on the server, and its env.yml."""

    number: int
    parts: dict[str, Any]

    @property
    def app(self) -> str:
        return f"shape{self.number}"

    @property
    def id(self) -> str:
        """The test id: which parts this shape has."""
        p = self.parts
        bits = [
            "nodb" if p["database"] == "none" else f"{p['database']}-{p['backend']}",
            f"storage{p['storage']}",
            *(name for name in ("backups", "monitoring", "steps", "environments") if p[name]),
            *(["tls"] if p["tls"] == "acme" else []),
            *(["rename-skip-deploy"] if p["rename"] == "skip-deploy" else []),
        ]
        return f"{self.number}-" + "-".join(bits)

    @property
    def database(self) -> str:
        return str(self.parts["database"])

    @property
    def storage(self) -> list[str]:
        """The storage names of env.yml."""
        return [f"files{i}" for i in range(int(self.parts["storage"]))]

    @property
    def backs_up(self) -> bool:
        """Whether a backup has anything to take: a database or a storage folder."""
        return self.database != "none" or bool(self.storage)

    def env_yml(self, app: str, colour: str) -> dict[str, Any]:
        """The shape's env.yml for an app named app, COLOUR being the change a later push makes."""
        p = self.parts
        doc: dict[str, Any] = {
            "version": 1,
            "port": 5000,
            "domains": [f"{app}.example.test"],
            "tls": p["tls"],
            "env": {"COLOUR": colour, "TIER": "base"},
        }
        if p["database"] != "none":
            doc["database"] = {"engine": p["database"]}
        if self.storage:
            doc["storage"] = [{"name": name, "path": f"/app/{name}"} for name in self.storage]
        if p["backups"]:
            doc["backups"] = {"schedule": "15 4 * * *", "keep": 3}
        if p["monitoring"]:
            doc["monitoring"] = {"healthcheck": "/healthz"}
        if p["steps"]:
            doc["steps"] = {"pre-deploy": ["ansible/mark.yml"], "post-deploy": ["ansible/mark.yml"]}
        if p["environments"]:
            doc["environments"] = {"staging": {"env": {"TIER": "staging"}}}
        return doc


SHAPES = [Shape(number, row) for number, row in enumerate(all_pairs(PARAMETERS), start=1)]
