"""A push may not take a domain another app has (its Dokku domains, or the DNS records the plugin keeps for it),
nor a zone's own name unless the admin allows it."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.resolve import taken_domains
from ansible_dokku_deploy.server import Dns


def server(tmp_path: Path, vhosts: dict[str, str] = {}, records: dict[str, list[str]] = {}) -> Dokku:  # noqa: B006
    """A Dokku root with apps whose VHOST files hold the given text, and the plugin's state of apps with records."""
    dokku = Dokku(tmp_path / "home", tmp_path / "lib")
    for app, text in vhosts.items():
        (dokku.root / app).mkdir(parents=True, exist_ok=True)
        (dokku.root / app / "VHOST").write_text(text)
    for app, names in records.items():
        (dokku.data_root / app).mkdir(parents=True, exist_ok=True)
        dns = [{"record": name, "zone": "example.test", "type": "A"} for name in names]
        (dokku.data_root / app / "state.json").write_text(json.dumps({"dns": dns}))
    return dokku


def test_a_domain_another_app_serves_is_refused_naming_that_app_the_key_and_the_fix(tmp_path: Path) -> None:
    dokku = server(tmp_path, {"shop": "Shop.Example.Test\nwww.shop.example.test\n", "blog": "blog.example.test\n"})
    [problem] = taken_domains(dokku, "intruder", ["mine.example.test", "shop.example.test"])
    assert problem.where == "env.yml" and problem.key == "domains[1]"
    assert problem.message == "shop.example.test is taken: the app shop serves it (its Dokku domains)"
    assert problem.hint is not None and "dokku domains:remove shop shop.example.test" in problem.hint
    assert "drop it from shop's env.yml" in problem.hint


def test_a_name_the_plugin_keeps_a_record_for_is_refused_though_no_app_serves_it(tmp_path: Path) -> None:
    """A record outlives Dokku's domains of its app (domains:clear by hand): its next deploy would remove it."""
    dokku = server(tmp_path, records={"mailer": ["mail.example.test."]})
    [problem] = taken_domains(dokku, "intruder", ["mail.example.test"])
    assert problem.message == "mail.example.test is taken: the app mailer has its DNS record"


def test_a_wildcard_of_another_app_covers_the_names_nginx_routes_to_it(tmp_path: Path) -> None:
    dokku = server(tmp_path, {"tenants": "*.tenants.example.test\n", "dot": ".dot.example.test\n", "any": "www.any.*"})
    taken = ["a.tenants.example.test", "a.b.tenants.example.test", "dot.example.test", "x.dot.example.test"]
    free = ["tenants.example.test", "xtenants.example.test", "any.example.test"]
    problems = taken_domains(dokku, "intruder", [*taken, *free, "www.any.example"])
    assert [p.key for p in problems] == ["domains[0]", "domains[1]", "domains[2]", "domains[3]", "domains[7]"]
    assert "dokku domains:remove tenants *.tenants.example.test" in (problems[0].hint or "")


def test_an_apps_own_domains_and_records_are_its_own(tmp_path: Path) -> None:
    dokku = server(tmp_path, {"shop": "shop.example.test\n"}, {"shop": ["shop.example.test."]})
    assert taken_domains(dokku, "shop", ["shop.example.test"]) == []


def test_a_server_without_apps_or_data_takes_nothing(tmp_path: Path) -> None:
    assert taken_domains(Dokku(tmp_path / "none", tmp_path / "none"), "app", ["a.example.test"]) == []


hostnames = st.lists(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True), min_size=2, max_size=4)


@given(labels=hostnames, upper=st.lists(st.booleans(), min_size=4, max_size=4), dot=st.booleans())
def test_names_compare_lowercase_and_without_the_trailing_dot(labels: list[str], upper: list[bool], dot: bool) -> None:
    name = ".".join(labels)
    written = ".".join(label.upper() if up else label for label, up in zip(labels, upper, strict=False))
    with tempfile.TemporaryDirectory() as folder:
        served = server(Path(folder) / "served", vhosts={"other": f"{written}{'.' if dot else ''}\n"})
        recorded = server(Path(folder) / "recorded", records={"other": [f"{written}{'.' if dot else ''}"]})
        assert [p.message for p in taken_domains(served, "app", [name])] == [
            f"{name} is taken: the app other serves it (its Dokku domains)"
        ]
        assert [p.message for p in taken_domains(recorded, "app", [name])] == [
            f"{name} is taken: the app other has its DNS record"
        ]


def dns(zones: tuple[str, ...]) -> Dns:
    return Dns("127.0.0.1", 53, zones, "key", "hmac-sha256", "secret", "127.0.0.1", "", 300)


def test_a_zones_own_name_is_refused_with_the_setting_that_allows_it() -> None:
    [problem] = dns(("example.test", "shop.example.test")).apexes(["www.example.test", "shop.example.test"], "shop")
    assert problem.key == "domains[1]"
    assert problem.message.startswith("shop.example.test is the apex of the DNS zone shop.example.test")
    assert problem.hint is not None and "dokku ansible-deploy:set shop allow-zone-apex true" in problem.hint
