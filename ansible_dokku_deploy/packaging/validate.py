"""Validation of a packaging tree: every problem becomes an error naming file, key or line, and a fix."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from ansible_dokku_deploy.errors import DeployError, PackagingError
from ansible_dokku_deploy.packaging import ENV_FILE, Packaging, merge, nginx_check, snippet_policy
from ansible_dokku_deploy.packaging.load import CONTROL, Lines, collect, load_yaml, read_text
from ansible_dokku_deploy.packaging.passed import Passed

SCHEMA_VERSION = 1
VAULT_HEADER = "$ANSIBLE_VAULT;"
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


@cache
def schema() -> dict[str, Any]:
    path = Path(__file__).with_name("schema") / f"v{SCHEMA_VERSION}.json"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def validate_tree(
    root: Path, *, check_nginx: bool = True, environment: str = "", passed: Passed | None = None, app: str = ""
) -> Packaging:
    """Validate the packaging files under root (every environment's variant); the spec is that of `environment`.
    With `app`, the snippets may reach only that app's upstream; without, any app's (a check before the push)."""
    passed = passed or Passed(None)
    problems: list[DeployError] = []
    files = collect(root, problems)
    spec: dict[str, Any] = {}
    if ENV_FILE not in files:
        if not any(p.where == ENV_FILE for p in problems):
            problems.append(
                DeployError(
                    "file not found",
                    where=ENV_FILE,
                    hint="Every packaged app has an env.yml at the top of its repository, at least `version: 1`.",
                )
            )
    else:
        spec = _check_env(root, problems, passed)
    variants = {name: merge(spec, overrides) for name, overrides in spec.get("environments", {}).items()}
    steps = {p.message: p for variant in [spec, *variants.values()] for p in _check_steps(variant, files)}
    problems.extend(steps.values())
    if environment and spec and environment not in variants:
        known = ", ".join(sorted(variants)) or "none"
        problems.append(
            DeployError(
                f"environments: this app's environment {environment!r} is not defined (defined: {known})",
                where=ENV_FILE,
                hint="Add it to env.yml's environments, or pick another: dokku ansible-deploy:set APP environment NAME",
            )
        )
    document, spec = spec, variants.get(environment, spec)
    problems.extend(_check_vault(root, files))
    snippets = [root / f for f in files if f.startswith("nginx.conf.d/")]
    problems.extend(snippets_named(files))
    ports = {s["port"] for s in ([spec] if app else [spec, *variants.values()]) if isinstance(s.get("port"), int)}
    for snippet in snippets:
        rel = snippet.relative_to(root).as_posix()
        try:
            problems.extend(snippet_policy.check(read_text(snippet, rel), rel, app=app, ports=ports))
        except DeployError as exc:
            problems.append(exc)
    if check_nginx and snippets and not problems:
        contents = b"".join(s.name.encode() + b"\0" + s.read_bytes() + b"\0" for s in snippets)
        if not passed.seen("nginx", contents):
            found = nginx_check.check(snippets)
            problems.extend(found)
            if not found:
                passed.remember("nginx", contents)
    if problems:
        raise PackagingError(problems)
    return Packaging(root=root, spec=spec, files=tuple(files), digest=digest(root, files), document=document)


def snippets_named(files: list[str]) -> list[DeployError]:
    """nginx only includes nginx.conf.d/*.conf, one level deep."""
    return [
        DeployError(
            "is not included by nginx", where=f, hint="Snippets are files named *.conf directly in nginx.conf.d/."
        )
        for f in files
        if f.startswith("nginx.conf.d/") and (f.count("/") != 1 or not f.endswith(".conf"))
    ]


def digest(root: Path, files: list[str]) -> str:
    """A fingerprint of the files' names and contents."""
    h = hashlib.sha256()
    for rel in files:
        h.update(rel.encode() + b"\0" + (root / rel).read_bytes() + b"\0")
    return h.hexdigest()


def _check_env(root: Path, problems: list[DeployError], passed: Passed) -> dict[str, Any]:
    try:
        text = read_text(root / ENV_FILE, ENV_FILE)
        doc = load_yaml(text, ENV_FILE)
    except DeployError as exc:
        problems.append(exc)
        return {}
    if not isinstance(doc.data, dict):
        problems.append(
            DeployError(f"expected a mapping of keys (like `version: 1`), found {_describe(doc.data)}", where=ENV_FILE)
        )
        return {}
    if passed.seen("schema", text.encode()):
        return doc.data
    controls = _control_characters(doc.data, (), doc.lines)
    errors = sorted(
        (e for e in _validator().iter_errors(doc.data) if not _said_by_controls(e)),
        key=lambda e: [str(p) for p in e.absolute_path],
    )
    problems.extend(controls)
    for error in errors:
        problems.extend(_explain(error, doc.lines))
    if not errors and not controls:
        passed.remember("schema", text.encode())
    return doc.data if not errors and not controls else {}


@cache
def _validator() -> Any:
    """The schema's validator, reading each pattern as JSON Schema (ECMA-262) does: `^...$` is the whole string.
    Python's re.search would let `$` match before a final newline, so `schedule: |` (a block scalar) would pass."""
    from jsonschema import Draft202012Validator, ValidationError, validators  # noqa: PLC0415  # heavy, only here

    def whole_pattern(validator: Any, pattern: str, instance: Any, _schema: Any) -> Any:
        if validator.is_type(instance, "string") and not re.fullmatch(pattern, instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")

    extended = validators.extend(Draft202012Validator, {"pattern": whole_pattern})  # type: ignore[no-untyped-call]  # not annotated
    return extended(schema())


def _said_by_controls(error: Any) -> bool:
    """A schema error about a string that holds a control character: the control check says it, more clearly."""
    return _has_control(error.instance) and not _is_free_text(tuple(error.absolute_path))


def _has_control(value: Any) -> bool:
    return isinstance(value, str) and CONTROL.search(value) is not None


def _is_free_text(path: tuple[str | int, ...]) -> bool:
    """A setting's value is the app's own text, kept byte for byte (a PEM key has newlines); every other string
    of env.yml, a setting's name included, is a name, a path, a domain or a schedule."""
    in_env = len(path) == 2 and path[0] == "env"  # noqa: PLR2004  # env.NAME
    return in_env or (len(path) == 4 and path[0] == "environments" and path[2] == "env")  # noqa: PLR2004


def _control_characters(data: Any, path: tuple[str | int, ...], lines: Lines) -> list[DeployError]:
    """Every string but free text, keys included, free of control characters and line separators."""
    found: list[DeployError] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if _has_control(key):
                found.append(_control_error(f"the key {json.dumps(key)}", key, path, lines))
            found.extend(_control_characters(value, (*path, key), lines))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(_control_characters(item, (*path, index), lines))
    elif _has_control(data) and not _is_free_text(path):
        found.append(_control_error(json.dumps(data)[:80], data, path, lines))
    return found


_CONTROL_NAMES = {
    "\n": "a line break",
    "\r": "a carriage return",
    "\t": "a tab",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
}


def _control_error(shown: str, text: str, path: tuple[str | int, ...], lines: Lines) -> DeployError:
    char = CONTROL.findall(text)[0]
    name = _CONTROL_NAMES.get(char, "a control character")
    return DeployError(
        f"{shown} holds {name} (U+{ord(char):04X}), which is not allowed here",
        key=_keypath(path),
        where=_where(lines, path),
        hint="Remove it. A line break at the end comes from a block scalar (| or >): write the value on one line, "
        "quoted if it needs to be.",
    )


def _keypath(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in (json.dumps(p) if _has_control(p) else p for p in path):  # never a control character printed raw
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _where(lines: Lines, path: tuple[str | int, ...]) -> str:
    while path and path not in lines:
        path = path[:-1]
    return f"{ENV_FILE}:{lines.get(path, 1)}"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (true or false)"
    kind = {dict: "a mapping", list: "a list", str: "the string", int: "the number", float: "the number"}.get(
        type(value), ""
    )
    shown = "" if isinstance(value, (dict, list)) else f" {json.dumps(value)[:80]}"
    return f"{kind}{shown}".strip() if value is not None else "nothing"


def _explain(error: Any, lines: Lines) -> list[DeployError]:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        return _unknown_keys(error, path, lines)
    message, hint = _sentence(error, path)
    return [DeployError(message, key=_keypath(path), where=_where(lines, path), hint=hint)]


def _unknown_keys(error: Any, path: tuple[str | int, ...], lines: Lines) -> list[DeployError]:
    known = sorted(error.schema.get("properties", {}))
    out = []
    unknown = {name for name in error.instance if name not in known and not _has_control(name)}  # controls says those
    for name in sorted(unknown, key=str):  # a YAML key may be a number
        close = difflib.get_close_matches(str(name), known, n=1)
        guess = f"Did you mean {close[0]!r}? " if close else ""
        where = _where(lines, (*path, name))
        out.append(
            DeployError(
                "unknown key",
                key=_keypath((*path, name)),
                where=where,
                hint=f"{guess}Valid keys here: {', '.join(known)}.",
            )
        )
    return out


def _sentence(error: Any, path: tuple[str | int, ...]) -> tuple[str, str | None]:
    """What was expected and what was found, and a hint, for one schema error."""
    rule, value, sub = error.validator, error.validator_value, error.schema
    about = sub.get("description") if isinstance(sub, dict) else None
    found = _describe(error.instance)
    if "propertyNames" in error.schema_path:
        rule = "propertyNames"
    if rule == "required":
        missing = error.message.split("'")[1]
        return f"missing key {missing!r}", sub.get("properties", {}).get(missing, {}).get("description")
    if rule == "enum":
        choices = [str(c) for c in value]
        close = difflib.get_close_matches(str(error.instance), choices, n=1)
        return f"expected one of {', '.join(choices)}, found {found}", f"Did you mean {close[0]!r}?" if close else about
    if rule == "type":
        wanted = value if isinstance(value, list) else [value]
        return f"expected {' or '.join(_TYPE_NAMES.get(str(t), str(t)) for t in wanted)}, found {found}", about
    sentences = {
        "const": (f"expected {json.dumps(value)}, found {found}", about),
        "propertyNames": (
            f"{found} is not a valid variable name",
            "Names are letters, digits and underscores, not starting with a digit.",
        ),
        "pattern": (f"{found} is not valid", f"Expected: {about or _pattern_about(path)}"),
        "uniqueItems": ("the list has duplicates", "List each item once."),
    }
    return sentences.get(rule, (error.message, about))


def _pattern_about(path: tuple[str | int, ...]) -> str:
    if path and path[0] == "domains":
        return "a lowercase host name such as app.example.com."
    if path and path[0] == "steps":
        return "a playbook path such as ansible/setup.yml."
    if path and path[0] == "backups":
        return "five cron fields made of digits, names, '*', ',', '-' and '/', such as '0 3 * * *'."
    return "see docs/packaging-format.md."


def _check_steps(spec: dict[str, Any], files: list[str]) -> list[DeployError]:
    return [
        DeployError(
            f"steps.{phase}: {book} is not in the repository",
            where=ENV_FILE,
            hint="Commit the playbook under ansible/, or remove it from steps.",
        )
        for phase, books in spec.get("steps", {}).items()
        for book in books
        if book not in files
    ]


def _check_vault(root: Path, files: list[str]) -> list[DeployError]:
    out = []
    for rel in files:
        if not rel.startswith("vault/"):
            continue
        if not rel.endswith((".yml", ".yaml")) or rel.count("/") != 1:
            out.append(
                DeployError(
                    "is not a vault file", where=rel, hint="Vault files are vault/*.yml, encrypted with ansible-vault."
                )
            )
        elif not (root / rel).read_bytes().startswith(VAULT_HEADER.encode()):
            out.append(DeployError("is not encrypted", where=rel, hint=f"Encrypt it: ansible-vault encrypt {rel}"))
    return out
