"""Renders docs/packaging-format.md from the JSON Schema, so the reference cannot drift from the validator.

Regenerate: .venv/bin/python scripts/render-docs (it also writes the README's settings table)
"""

from __future__ import annotations

import json
from typing import Any

from ansible_dokku_deploy.packaging.validate import SCHEMA_VERSION, schema

_INTRO = """# Packaging format reference (version {version})

Generated from `ansible_dokku_deploy/packaging/schema/v{version}.json`; do not edit by hand.

An app's repository carries, at its top level:

| path | what it is |
| --- | --- |
| `env.yml` | required: what the app asks its server for (the keys below) |
| `vault/*.yml` | ansible-vault encrypted mappings of secret settings |
| `nginx.conf.d/*.conf` | nginx snippets, included in every server block of the app after Dokku's own `location /` |
| `ansible/` | the packager's own playbooks, named in `steps` |

Limits: env.yml at most 256 KiB, any other file at most 1 MiB, 500 files and 16 MiB in all; names are letters,
digits, `.`, `_` and `-`; symlinks may not leave the repository; YAML anchors, aliases and tags are refused.

## env.yml keys

| key | type | description |
| --- | --- | --- |
"""


def _type(spec: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in spec:
        return _type({**defs[spec["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in spec.items() if k != "$ref"}}, defs)
    if "const" in spec:
        return f"`{json.dumps(spec['const'])}`"
    if "enum" in spec:
        return " or ".join(f"`{v}`" for v in spec["enum"])
    kind = spec.get("type", "")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}), defs)}"
    if kind == "object" and "properties" not in spec:
        return "mapping of names to values"
    return " or ".join(kind) if isinstance(kind, list) else str(kind or "value")


def _rows(properties: dict[str, Any], required: list[str], prefix: str, defs: dict[str, Any]) -> list[str]:
    rows = []
    for name, spec in properties.items():
        full = f"{prefix}{name}"
        target = spec
        if spec.get("type") == "array" and "properties" in spec.get("items", {}):
            target = spec["items"]
            full_children = f"{full}[]."
        else:
            full_children = f"{full}."
        note = " (required)" if name in required else ""
        default = f" Default: `{json.dumps(spec['default'])}`." if "default" in spec else ""
        description = spec.get("description", "") or defs.get(spec.get("$ref", "/").rsplit("/", 1)[1], {}).get(
            "description", ""
        )
        rows.append(f"| `{full}`{note} | {_type(spec, defs)} | {description}{default} |")
        if "properties" in target:
            rows.extend(_rows(target["properties"], target.get("required", []), full_children, defs))
    return rows


def render() -> str:
    data = schema()
    rows = _rows(data["properties"], data.get("required", []), "", data.get("$defs", {}))
    return _INTRO.format(version=SCHEMA_VERSION) + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render(), end="")
