"""Plans: which roles a phase runs, with which variables, and a fingerprint that ignores where files are staged;
made from Inputs alone, so most of these build their inputs by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from conftest import EXAMPLE

from ansible_dokku_deploy.database import Database
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.packaging.validate import validate_tree
from ansible_dokku_deploy.plan import Inputs, gather, make_plan
from ansible_dokku_deploy.resolve import Resolved
from ansible_dokku_deploy.roles import BackupRun
from ansible_dokku_deploy.server import Acme, Dns
from ansible_dokku_deploy.settings import SETTINGS
from ansible_dokku_deploy.staging import Staging
from ansible_dokku_deploy.state import Phase, State

DOKKU = Dokku(Path("/home/dokku"), Path("/var/lib/dokku"))


def plan_for(tmp_path: Path, rev: str, phase: str = Phase.PRE_DEPLOY, state: State | None = None):
    release = Staging(tmp_path / "data").stage(validate_tree(EXAMPLE), rev, keep=5)
    resolved = Resolved(validate_tree(release.path, check_nginx=False), secrets={"SECRET_KEY": "s"})
    state = state or State(tmp_path / "s")
    return make_plan(gather(DOKKU, "hello", phase, release=release, resolved=resolved, state=state))


def test_pre_deploy_runs_every_capability_the_example_asks_for(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, "a")
    assert plan.roles == ("config", "ports", "domains", "storage", "nginx")
    assert plan.variables["config_values"] == {"GREETING": "hello from env.yml", "WORKERS": "2", "DEBUG": "false"}
    assert plan.variables["ports_container_port"] == 5000
    assert plan.variables["storage_mounts"] == [{"entry": "hello-uploads", "path": "/app/uploads"}]
    assert plan.variables["nginx_snippet_dir"] == "/home/dokku/hello/nginx.conf.d"


def test_post_deploy_runs_the_packagers_step_and_no_role_without_an_acme_ca(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, "a", Phase.POST_DEPLOY)
    assert plan.roles == ()
    assert [Path(s).name for s in plan.steps] == ["maintenance.yml"]


def test_vault_secrets_go_to_the_config_role_apart_from_plain_settings(tmp_path: Path) -> None:
    variables = plan_for(tmp_path, "a").variables
    assert variables["config_secret_values"] == {"SECRET_KEY": "s"}
    assert "SECRET_KEY" not in variables["config_values"]


def test_fingerprint_is_the_same_for_the_same_content_in_another_release(tmp_path: Path) -> None:
    first, second = plan_for(tmp_path, "a"), plan_for(tmp_path, "b")
    assert first.release.path != second.release.path
    assert first.fingerprint == second.fingerprint


def test_keys_set_before_and_dropped_from_env_yml_are_unset(tmp_path: Path) -> None:
    state = State(tmp_path / "s", config_keys=["GREETING", "OLD"])
    assert plan_for(tmp_path, "a", state=state).variables["config_unset"] == ["OLD"]


def test_a_recorded_storage_entry_wins_and_only_recorded_ones_are_owned_or_backed_up(tmp_path: Path) -> None:
    earlier = State(tmp_path / "s", storage={"uploads": "entry-an-earlier-version-gave"})
    variables = plan_for(tmp_path, "a", state=earlier).variables
    assert variables["storage_mounts"] == [{"entry": "entry-an-earlier-version-gave", "path": "/app/uploads"}]
    assert variables["storage_owned"] == ["entry-an-earlier-version-gave"]
    run = BackupRun(id="hello-20261201T030000Z", restic_env={}, restic_flags=(), timeout=60)
    unrecorded = make_plan(
        _inputs(tmp_path, Phase.BACKUP, backup=run, database=Database("postgres", "dokku-service", "h"))
    )
    assert unrecorded.variables["backups_storage"] == [], "a folder never recorded as the app's is not its to back up"
    assert unrecorded.variables["backups_database"]["scratch"] == "_drill_h"


def _inputs(tmp_path: Path, phase: str, *, state: State | None = None, **changes: object) -> Inputs:
    """Inputs made by hand, no store read: what make_plan sees, and nothing else."""
    release = Staging(tmp_path / "data").stage(validate_tree(EXAMPLE), "a", keep=5)
    settings = {key: s.default for key, s in SETTINGS.items()}
    settings.update(changes.pop("settings", {}))  # type: ignore[call-overload]
    base = Inputs(
        dokku=DOKKU, app="hello", phase=phase, release=release, packaging=validate_tree(release.path, check_nginx=False),
        state=state or State(tmp_path / "s"), settings=settings, python="/venv/bin/python", uid=1000,
    )  # fmt: skip
    return replace(base, **changes)


DNS = Dns(server="127.0.0.1", port=5353, zones=("example.test",), key_name="k", algorithm="hmac-sha256",
          secret="c2Vj", ipv4="192.0.2.1", ipv6="2001:db8::1", ttl=60)  # noqa: S106  # fmt: skip
ACME = Acme(directory="https://ca/dir", email="", challenge="http-01", ca_file="", renew_days=30, timeout=120)


def test_the_same_inputs_make_the_same_plan_and_read_nothing_else(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path, Phase.PRE_DEPLOY, dns=DNS)
    assert make_plan(inputs) == make_plan(inputs)
    assert make_plan(inputs).variables["nginx_check_command"].startswith("/venv/bin/python -m ")


def test_dns_wants_a_and_aaaa_for_every_domain_and_drops_the_records_of_dropped_ones(tmp_path: Path) -> None:
    gone = {"record": "old.example.test.", "zone": "example.test", "type": "A"}
    variables = make_plan(
        _inputs(tmp_path, Phase.PRE_DEPLOY, dns=DNS, state=State(tmp_path / "s", dns=[gone]))
    ).variables
    assert {(r["record"], r["type"], r["value"]) for r in variables["dns_records"]} == {
        (f"{d}.example.test.", kind, value)
        for d in ("hello", "www.hello")
        for kind, value in (("A", "192.0.2.1"), ("AAAA", "2001:db8::1"))
    }
    assert variables["dns_absent"] == [gone]
    assert variables["dns_port"] == 5353 and variables["dns_key_secret"] == "c2Vj"


def test_http_01_adds_the_challenge_snippet_and_dns_01_passes_the_key_and_zones(tmp_path: Path) -> None:
    packaging = validate_tree(EXAMPLE)
    tls_packaging = replace(packaging, spec={**packaging.spec, "tls": "acme"})
    http = make_plan(_inputs(tmp_path, Phase.PRE_DEPLOY, acme=ACME, packaging=tls_packaging)).variables
    assert "ansible-deploy-acme-challenge.conf" in {s["name"] for s in http["nginx_snippets"]}
    assert http["ports_https"] is True
    dns_01 = replace(ACME, challenge="dns-01")
    post = make_plan(_inputs(tmp_path, Phase.POST_DEPLOY, acme=dns_01, dns=DNS, packaging=tls_packaging)).variables
    assert post["tls_challenge"] == "dns-01" and post["tls_dns_port"] == 5353
    assert post["tls_dns_zones"] == {"hello.example.test": "example.test", "www.hello.example.test": "example.test"}


def test_a_run_with_no_dns_record_to_write_or_remove_never_holds_the_tsig_key(tmp_path: Path) -> None:
    """The run's variables are its steps' too: the TSIG key goes only to a run that writes or removes records."""
    packaging = validate_tree(EXAMPLE)
    no_domains = replace(packaging, spec={k: v for k, v in packaging.spec.items() if k != "domains"})
    plan = make_plan(_inputs(tmp_path, Phase.PRE_DEPLOY, dns=DNS, packaging=no_domains))
    assert "dns" not in plan.roles
    assert DNS.secret not in json.dumps(plan.variables)
    gone = {"record": "old.example.test.", "zone": "example.test", "type": "A"}
    dropping = make_plan(
        _inputs(tmp_path, Phase.PRE_DEPLOY, dns=DNS, packaging=no_domains, state=State(tmp_path / "s", dns=[gone]))
    )
    assert dropping.variables["dns_absent"] == [gone] and dropping.variables["dns_key_secret"] == DNS.secret


def test_monitoring_probes_through_nginx_with_the_domain_as_host(tmp_path: Path) -> None:
    settings = {"monitoring-targets-dir": "/targets", "monitoring-probe-through": "nginx"}
    variables = make_plan(_inputs(tmp_path, Phase.POST_DEPLOY, settings=settings)).variables
    probe = variables["monitoring_probe_groups"][0]
    assert probe["targets"] == ["http://127.0.0.1:80/healthz"]
    assert probe["labels"] == {"app": "hello", "domain": "hello.example.test", "__param_hostname": "hello.example.test"}


def test_monitoring_probes_over_https_an_app_served_with_the_admins_certificate(tmp_path: Path) -> None:
    """tls: none with a certificate from certs:add: nginx serves HTTPS and redirects plain HTTP, so the probe asks
    over HTTPS, as the ports and the route check do."""
    packaging = validate_tree(EXAMPLE)
    no_acme = replace(packaging, spec={**packaging.spec, "tls": "none"})
    settings = {"monitoring-targets-dir": "/targets", "monitoring-probe-through": "nginx"}
    inputs = _inputs(tmp_path, Phase.POST_DEPLOY, settings=settings, packaging=no_acme, served_certificate=True)
    probe = make_plan(inputs).variables["monitoring_probe_groups"][0]
    assert probe["targets"] == ["https://127.0.0.1:443/healthz"]


def test_destroy_drops_the_database_only_when_the_admin_opted_in(tmp_path: Path) -> None:
    database = Database("postgres", "dokku-service", "hello")
    kept = make_plan(_inputs(tmp_path, Phase.DESTROY, database=database))
    assert "database" not in kept.roles
    purged = make_plan(
        _inputs(tmp_path, Phase.DESTROY, database=database, settings={"database-purge-on-destroy": "true"})
    )
    assert purged.roles == ("database",) and purged.variables["database_state"] == "absent"


def test_a_run_records_what_the_plugin_then_owns_and_a_failed_one_forgets_nothing(tmp_path: Path) -> None:
    old = {"record": "old.example.test.", "zone": "example.test", "type": "A"}

    def before() -> State:
        return State(tmp_path / "s", config_keys=["OLD"], snippets=["ansible-deploy-old.conf"], dns=[old])

    state = before()
    plan = make_plan(_inputs(tmp_path, Phase.PRE_DEPLOY, dns=DNS, state=state))
    failed = before()
    failed.record(plan, succeeded=False)
    assert {"OLD", "GREETING"} <= set(failed.config_keys) and "ansible-deploy-old.conf" in failed.snippets
    assert old in failed.dns and failed.phases["pre-deploy"] == {}
    state.record(plan, succeeded=True)
    assert state.config_keys == ["DEBUG", "GREETING", "WORKERS"]
    assert state.snippets == list(plan.owned.snippets) and old not in state.dns
    assert {(r["record"], r["type"]) for r in state.dns} >= {
        ("hello.example.test.", "A"),
        ("hello.example.test.", "AAAA"),
    }
    assert state.phases["pre-deploy"] == {"fingerprint": plan.fingerprint}
    assert not state.settled(Phase.PRE_DEPLOY, ""), "settled only once the run's key is known (phases.py)"
    state.settle(Phase.PRE_DEPLOY, "i")
    assert state.settled(Phase.PRE_DEPLOY, "i")
