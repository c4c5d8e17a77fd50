"""Properties of validation over env.yml documents a hostile pusher could write.

Names, paths, domains and schedules that pass are exactly what the schema describes, with no control character;
settings' values pass whatever they hold and arrive byte for byte.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from ansible_dokku_deploy.errors import PackagingError
from ansible_dokku_deploy.packaging.validate import schema, validate_tree

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1, the unicode line separators
DEFS = schema()["$defs"]
PROPERTIES = schema()["properties"]
PATTERNS = {
    "domain": DEFS["hostname"]["pattern"],
    "schedule": DEFS["cron"]["pattern"],
    "urlpath": DEFS["urlpath"]["pattern"],
    "storage-name": PROPERTIES["storage"]["items"]["properties"]["name"]["pattern"],
    "storage-path": PROPERTIES["storage"]["items"]["properties"]["path"]["pattern"],
    "env-name": PROPERTIES["env"]["propertyNames"]["pattern"],
    "environment-name": PROPERTIES["environments"]["propertyNames"]["pattern"],
}
GOOD = {
    "domain": ["shop.example.com", "a.b.example.test"],
    "schedule": ["30 3 * * *", "0 */6 * * mon-fri"],
    "urlpath": ["/healthz", "/metrics?x=1"],
    "storage-name": ["uploads", "cache-1"],
    "storage-path": ["/app/uploads", "/data"],
    "env-name": ["GREETING", "_X1"],
    "environment-name": ["staging", "prod-2"],
}
# What a pusher might slip into a name: line breaks and other controls, unicode line separators, quotes, YAML and
# shell punctuation, template markers.
HOSTILE = ["\n", "\r", "\t", "\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "'", '"', " ", ":"]
HOSTILE += ["#", ";", "|", "$", "{{", "{%", "{#", "}}", "%}", "#}", "\\", "/", ".", "-", "*", "a", "Z", "0", "é"]


def hostile(kind: str) -> st.SearchStrategy[str]:
    """A good value of its kind with hostile pieces around it, or hostile pieces alone."""
    pieces = st.lists(st.sampled_from(HOSTILE), max_size=4).map("".join)
    good = st.sampled_from(GOOD[kind])
    return st.one_of(good, st.builds(lambda a, b, c: a + b + c, pieces, good, pieces), pieces)


@st.composite
def documents(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """An env.yml document, and each (kind, string) in it that is a name, not free text."""
    names: list[tuple[str, str]] = []

    def name(kind: str) -> str:
        value = draw(hostile(kind))
        names.append((kind, value))
        return value

    env = {name("env-name"): draw(st.text(max_size=20)) for _ in range(draw(st.integers(0, 2)))}
    doc: dict[str, Any] = {
        "version": 1,
        "env": env,
        "domains": [name("domain") for _ in range(draw(st.integers(0, 2)))],
    }
    if draw(st.booleans()):
        doc["storage"] = [{"name": name("storage-name"), "path": name("storage-path")}]
    if draw(st.booleans()):
        doc["monitoring"] = {"healthcheck": name("urlpath"), "metrics": name("urlpath")}
    if draw(st.booleans()):
        doc["database"] = {"engine": "postgres"}
        doc["backups"] = {"schedule": name("schedule")}
    if draw(st.booleans()):
        doc["environments"] = {name("environment-name"): {"env": {name("env-name"): "x"}, "domains": [name("domain")]}}
    return doc, names


def validated(doc: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """The validated document (None when refused), and the refusal's lines."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "env.yml").write_text(yaml.safe_dump(doc))
        try:
            return validate_tree(Path(folder)).document, []
        except PackagingError as refused:
            return None, refused.lines()


@given(documents())
def test_names_that_pass_are_whole_matches_of_their_pattern_with_no_control_character(
    generated: tuple[dict[str, Any], list[tuple[str, str]]],
) -> None:
    doc, names = generated
    accepted, refusal = validated(doc)
    event("accepted" if accepted is not None else "refused")  # --hypothesis-show-statistics: both happen
    if accepted is None:
        assert not [line for line in refusal if CONTROL.search(line)], "a refusal never prints a control character"
        return
    for kind, value in names:
        assert re.fullmatch(PATTERNS[kind], value), (kind, value)
        assert not CONTROL.search(value), (kind, value)


@given(st.text(), st.text())
def test_a_settings_value_passes_whatever_it_holds_and_arrives_byte_for_byte(value: str, in_staging: str) -> None:
    doc = {"version": 1, "env": {"VALUE": value}, "environments": {"staging": {"env": {"VALUE": in_staging}}}}
    accepted, refusal = validated(doc)
    assert accepted is not None, refusal
    assert accepted["env"]["VALUE"] == value
    assert accepted["environments"]["staging"]["env"]["VALUE"] == in_staging
