"""The global names derived from apps never meet: different apps (and storage names) always get different names,
each within its system's limits, and drill scratch copies outside every app's names."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ansible_dokku_deploy import names

# Dokku's app names (^[a-z0-9][a-z0-9.-]*$), long ones included; a small alphabet makes mapped names meet often.
APPS = st.from_regex(r"[a-z0-9][a-z0-9.-]{0,80}", fullmatch=True) | st.from_regex(r"[ab1][ab1.-]{0,70}", fullmatch=True)
STORAGE = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?", fullmatch=True)  # the schema's storage name
DNS_1123_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


@given(st.lists(st.tuples(APPS, STORAGE), unique=True, min_size=2, max_size=40))
@example([("shop", "prod-uploads"), ("shop-prod", "uploads"), ("shop.prod", "uploads"), ("shop", "prod--uploads")])
@example([("a", "b-" + names.storage_entry("a.x", "b")[-26:]), ("a.x", "b")])  # a digest spelled as a name
@example([("legacy", "x"), ("xlegacy", "x")])
@example([("shop", "admin-files"), ("shop-admin", "files"), ("my.app", "files"), ("my-app", "files")])
def test_storage_entries_of_different_apps_or_names_never_meet(pairs: list[tuple[str, str]]) -> None:
    entries = [names.storage_entry(app, name) for app, name in pairs]
    assert len(set(entries)) == len(pairs)
    for entry in entries:
        assert DNS_1123_LABEL.fullmatch(entry), entry
        assert len(entry) <= names.STORAGE_ENTRY_LIMIT
        assert not entry.startswith("legacy-")  # Dokku reserves it


@given(st.lists(APPS, unique=True, min_size=2, max_size=40))
@example(["shop-prod", "shop.prod", "shop"])
@example(["fire", "fire-drill", "fire.drill", "fire--drill"])
@example(["a" * 63, "a" * 64, "a" * 70, "a" * 63 + "."])
def test_databases_roles_services_and_scratch_copies_of_different_apps_never_meet(apps: list[str]) -> None:
    databases = [names.database_name(app) for app in apps]
    services = [names.service_name(app) for app in apps]
    scratches = {names.scratch_name(n) for n in {*databases, *services}}
    assert len(set(databases)) == len(set(services)) == len(apps)
    assert len(scratches) == len({*databases, *services})
    assert not scratches & {*databases, *services}, "a drill never touches an app's own database or service"
    for database in databases:
        assert re.fullmatch(r"[a-z0-9][a-z0-9_]*", database)
        assert len(database) <= names.DATABASE_LIMIT
    service_names = {*services, *(names.scratch_name(n) for n in services)}
    hosts = {f"dokku-postgres-{n}".replace("_", "-") for n in service_names}  # the service plugin's host names
    assert len(hosts) == len(service_names)
    for service in services:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", service)
        assert len(service) <= names.SERVICE_LIMIT
    for scratch in scratches:
        assert scratch.startswith("_")
        assert len(scratch) <= names.DATABASE_LIMIT


@pytest.mark.parametrize(
    ("app", "name", "entry"),
    [("hello", "uploads", "hello-uploads"), ("hello", "user-files", "hello-user-files")],
)
def test_plain_names_stay_as_earlier_versions_gave_them(app: str, name: str, entry: str) -> None:
    assert names.storage_entry(app, name) == entry == names.legacy_storage_entry(app, name)
    assert names.database_name(app) == names.service_name(app) == app


def test_the_collisions_of_earlier_versions_are_gone() -> None:
    assert names.legacy_storage_entry("shop", "prod-uploads") == names.legacy_storage_entry("shop-prod", "uploads")
    assert names.storage_entry("shop", "prod-uploads") != names.storage_entry("shop-prod", "uploads")
    assert names.database_name("shop-prod") != names.database_name("shop.prod")
    assert names.scratch_name(names.database_name("fire")) != names.database_name("fire-drill")
    assert names.scratch_name(names.database_name("fire")) == "_drill_fire"
