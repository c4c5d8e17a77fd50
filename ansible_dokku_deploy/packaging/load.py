"""Safe reading of untrusted packaging files: size, name, symlink and YAML limits."""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.packaging import ENV_FILE, TREES

MAX_ENV_BYTES = 256 * 1024
MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 16 * 1024 * 1024
MAX_FILES = 500
MAX_YAML_DEPTH = 20
TOO_DEEP = f"nests deeper than {MAX_YAML_DEPTH} levels"
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1, and the line and paragraph separators
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")

_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}

Lines = dict[tuple[str | int, ...], int]


@dataclass(frozen=True)
class YamlDoc:
    """A loaded YAML document and the line of every key path in it (1-based)."""

    data: Any
    lines: Lines


def collect(root: Path, problems: list[DeployError]) -> list[str]:
    """Relative paths of the packaging files under root; refuses what is unsafe to stage."""
    found: list[str] = []
    total = 0
    candidates = [ENV_FILE] if (root / ENV_FILE).exists() or (root / ENV_FILE).is_symlink() else []
    for tree in TREES:
        if (root / tree).is_symlink():
            problems.append(DeployError("is a symlink", where=f"{tree}/", hint="Make it a real folder."))
        elif (root / tree).is_dir():
            candidates.extend(_walk(root, tree, problems))
    for rel in candidates:
        size = _check_file(root, rel, problems)
        if size is None:
            continue
        total += size
        found.append(rel)
    if len(found) > MAX_FILES:
        problems.append(DeployError(f"{len(found)} files; at most {MAX_FILES} are allowed", where="packaging"))
    if total > MAX_TOTAL_BYTES:
        problems.append(DeployError(f"{total} bytes in all; at most {MAX_TOTAL_BYTES} are allowed", where="packaging"))
    return sorted(found)


def _walk(root: Path, tree: str, problems: list[DeployError]) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root / tree):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        for name in list(dirnames):
            if not _SAFE_NAME.fullmatch(name) or (Path(dirpath) / name).is_symlink():
                problems.append(_bad_name(f"{rel_dir}/{name}/", name))
                dirnames.remove(name)
        for name in filenames:
            if _SAFE_NAME.fullmatch(name):
                out.append(f"{rel_dir}/{name}")
            else:
                problems.append(_bad_name(f"{rel_dir}/{name}", name))
        if len(out) > MAX_FILES:
            break
    return out


def _bad_name(where: str, name: str) -> DeployError:
    if CONTROL.search(where):  # never print a control character raw
        where = json.dumps(where)
    return DeployError(
        f"name {name!r} is not allowed (symlinked folder, or characters other than letters, digits, '.', '_', '-')",
        where=where,
        hint="Rename it, or move it out of the packaging folders.",
    )


def _check_file(root: Path, rel: str, problems: list[DeployError]) -> int | None:
    """Size of a regular file inside root, or None after recording why it is refused."""
    path = root / rel
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root.resolve()):
            problems.append(
                DeployError("is a symlink that leaves the repository", where=rel, hint="Commit the file itself.")
            )
            return None
    try:
        st = path.stat()
    except OSError as exc:
        problems.append(DeployError(f"cannot be read ({exc.strerror})", where=rel))
        return None
    if not stat.S_ISREG(st.st_mode):
        problems.append(DeployError("is not a regular file", where=rel))
        return None
    if not os.access(path, os.R_OK):
        problems.append(DeployError("cannot be read by the dokku user", where=rel, hint="Make it readable: chmod 644"))
        return None
    limit = MAX_ENV_BYTES if rel == ENV_FILE else MAX_FILE_BYTES
    if st.st_size > limit:
        problems.append(DeployError(f"is {st.st_size} bytes; at most {limit} are allowed", where=rel))
        return None
    return st.st_size


def read_text(path: Path, where: str) -> str:
    """A file's text, which must be UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DeployError(f"is not UTF-8 text (byte {exc.start}, line {line})", where=where) from None


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML has it: ten times faster


def load_yaml(text: str, where: str) -> YamlDoc:
    """Parse one YAML document safely: no anchors or aliases, no tags, bounded nesting."""
    try:
        _check_events(text, where)
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, where) from None
    if node is None:
        return YamlDoc(None, {})
    lines: Lines = {}
    _check_node(node, (), lines, where)
    try:
        return YamlDoc(yaml.load(text, Loader=_LOADER), lines)  # noqa: S506  # a safe loader
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, where) from None


def _check_events(text: str, where: str) -> None:
    """Refuse anchors, aliases and deep nesting while libyaml's parser streams the events: composing nodes recurses
    once per level in C, and a few thousand levels (a few KB of `[`) crash the interpreter before a node exists."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise DeployError("anchors and aliases (&, *) are not allowed", where=f"{where}:{line}")
        if isinstance(event, yaml.NodeEvent) and depth > MAX_YAML_DEPTH:
            raise DeployError(TOO_DEEP, where=f"{where}:{line}")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _yaml_error(exc: yaml.YAMLError, where: str) -> DeployError:
    mark = getattr(exc, "problem_mark", None)
    loc = f"{where}:{mark.line + 1}" if mark is not None else where
    problem = str(getattr(exc, "problem", None) or exc)
    return DeployError(
        f"is not valid YAML: {problem}", where=loc, hint="Check the indentation and quoting around that line."
    )


def _check_node(node: yaml.Node, path: tuple[str | int, ...], lines: Lines, where: str) -> None:
    line = node.start_mark.line + 1
    if node.tag not in _PLAIN_TAGS:
        raise DeployError(
            f"tag {node.tag} is not allowed (plain values, lists and mappings only)", where=f"{where}:{line}"
        )
    lines[path] = line
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _check_node(key, path, {}, where)
            _check_node(value, (*path, str(key.value)), lines, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_node(item, (*path, index), lines, where)
