"""Two apps on one server with real BIND and Pebble: a push may not take another app's domain, nor a zone's own
name unless the admin allows it; nothing is changed in DNS and no certificate is ordered for a refused one."""

from __future__ import annotations

from pathlib import Path

from conftest import Sandbox, output
from test_dns_tls import installed_cert, lookup, make_app, pushed


def no_certificate(box: Sandbox, app: str) -> bool:
    """Neither installed in Dokku nor ordered (the tls role keeps the app's key and orders under its data dir)."""
    return not (box.home / app / "tls").exists() and not (box.data_dir(app) / "tls").exists()


def test_a_push_may_not_take_another_apps_domain_or_a_name_the_plugin_keeps_a_record_for(
    served: Sandbox, tmp_path: Path
) -> None:
    pushed(served, "alpha", make_app(tmp_path, "alpha", ["alpha.example.test"]))
    serial = installed_cert(served, "alpha").serial_number
    served.admit("beta")
    served.ok("ansible-deploy:set", "beta", "dns-target-ipv4", "127.0.0.2")  # had it been taken, BIND would say so
    beta = make_app(tmp_path, "beta", ["beta.example.test", "alpha.example.test"])

    refused = served.push("beta", beta)
    assert refused.returncode != 0
    text = output(refused)
    assert "env.yml: domains[1]: alpha.example.test is taken: the app alpha serves it (its Dokku domains)" in text
    assert "dokku domains:remove alpha alpha.example.test" in text
    served.ok("domains:clear", "alpha")  # Dokku forgets it, the plugin still keeps alpha's record
    text = output(served.push("beta", beta))
    assert "env.yml: domains[1]: alpha.example.test is taken: the app alpha has its DNS record" in text

    assert lookup(served, "alpha.example.test") == ["127.0.0.1"]
    assert lookup(served, "beta.example.test") == []
    assert installed_cert(served, "alpha").serial_number == serial
    assert no_certificate(served, "beta")
    assert served.ok("ansible-deploy:report", "beta", "--ansible-deploy-last-run-status").strip() == "none"


def test_a_run_is_refused_before_it_changes_anything_once_another_app_serves_the_domain(
    served: Sandbox, tmp_path: Path
) -> None:
    pushed(served, "gamma", make_app(tmp_path, "gamma", ["gamma.example.test"]))
    served.ok("apps:create", "delta")
    served.ok("domains:add", "delta", "gamma.example.test")  # by hand: Dokku lets two apps share a domain
    served.ok("ansible-deploy:set", "gamma", "dns-target-ipv4", "127.0.0.3")  # a run would move the record

    for args in (["gamma"], ["gamma", "--check"]):
        result = served.dokku("ansible-deploy:run", *args)
        assert result.returncode == 1, output(result)
        assert "domains[0]: gamma.example.test is taken: the app delta serves it" in result.stderr
        assert "Traceback" not in output(result)
    assert lookup(served, "gamma.example.test") == ["127.0.0.1"]


def test_a_zones_own_name_is_refused_until_the_admin_allows_it(served: Sandbox, tmp_path: Path) -> None:
    src = make_app(tmp_path, "apex", ["example.test"])
    served.admit("apex")
    served.ok("ansible-deploy:set", "apex", "dns-target-ipv4", "127.0.0.4")

    refused = served.push("apex", src)
    assert refused.returncode != 0
    text = output(refused)
    assert "env.yml: domains[0]: example.test is the apex of the DNS zone example.test" in text
    assert "dokku ansible-deploy:set apex allow-zone-apex true" in text
    assert lookup(served, "example.test") == []
    assert no_certificate(served, "apex")

    served.ok("ansible-deploy:set", "apex", "allow-zone-apex", "true")
    pushed(served, "apex", src)
    assert lookup(served, "example.test") == ["127.0.0.4"]
