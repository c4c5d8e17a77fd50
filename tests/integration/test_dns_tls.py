"""DNS records on a real BIND and certificates from a real ACME CA (Pebble), through sandbox pushes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import services
from conftest import (
    EXAMPLE,
    Sandbox,
    break_pre_deploy,
    edit_env,
    files_holding,
    output,
    refused_port,
    services_facts,
    silent_server,
)
from cryptography import x509


def make_app(tmp_path: Path, name: str, domains: list[str]) -> Path:
    src = tmp_path / name
    shutil.copytree(EXAMPLE, src)
    edit_env(src, domains=domains)
    return src


def lookup(box: Sandbox, name: str, kind: str = "A") -> list[str]:
    port = int(services_facts(box)["bind"]["port"])
    reply = dns.query.udp(dns.message.make_query(name, kind), "127.0.0.1", port=port, timeout=2)
    if reply.rcode() == dns.rcode.NXDOMAIN:
        return []
    return sorted(item.to_text() for rrset in reply.answer for item in rrset)


def installed_cert(box: Sandbox, app: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((box.home / app / "tls" / "server.crt").read_bytes())


def names(cert: x509.Certificate) -> list[str]:
    return sorted(
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    )


def pushed(box: Sandbox, app: str, src: Path) -> str:
    result = box.push(app, src)
    assert result.returncode == 0, output(result)
    return output(result)


def test_push_creates_records_and_installs_a_certificate_for_every_domain(served: Sandbox, tmp_path: Path) -> None:
    domains = ["shop.example.test", "www.shop.example.test"]
    pushed(served, "shop", make_app(tmp_path, "shop", domains))
    assert lookup(served, "shop.example.test") == ["127.0.0.1"]
    assert lookup(served, "www.shop.example.test") == ["127.0.0.1"]
    cert = installed_cert(served, "shop")
    assert names(cert) == domains
    assert "Pebble" in cert.issuer.rfc4514_string()
    root = served.root / "pebble-root.pem"
    root.write_bytes(services.pebble_roots(services_facts(served)["pebble"]))
    chain = served.home / "shop" / "tls" / "server.crt"
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(root), "-untrusted", str(chain), str(chain)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert served.ok("certs:report", "shop", "--ssl-enabled").strip() == "true"
    assert served.ok("ports:report", "shop", "--ports-map").split() == ["http:80:5000", "https:443:5000"]
    report = served.ok("ansible-deploy:report", "shop", "--format", "json")
    assert '"dns-records":"A:shop.example.test A:www.shop.example.test"' in report
    assert '"tls-domains":"shop.example.test www.shop.example.test"' in report


def test_a_second_push_and_a_forced_run_change_nothing(served: Sandbox, tmp_path: Path) -> None:
    src = make_app(tmp_path, "calm", ["calm.example.test"])
    pushed(served, "calm", src)
    serial = installed_cert(served, "calm").serial_number
    text = pushed(served, "calm", src)
    assert "pre-deploy for calm is unchanged" in text and "post-deploy for calm is unchanged" in text
    served.ok("ansible-deploy:run", "calm")
    last_two = served.ok("ansible-deploy:history", "calm").splitlines()[-2:]
    assert [line.split()[-1] for line in last_two] == ["0", "0"], last_two
    assert installed_cert(served, "calm").serial_number == serial


def test_a_dropped_domain_loses_its_record_and_the_certificate_follows(served: Sandbox, tmp_path: Path) -> None:
    src = make_app(tmp_path, "trim", ["trim.example.test", "old.trim.example.test"])
    pushed(served, "trim", src)
    edit_env(src, domains=["trim.example.test", "new.trim.example.test"])
    pushed(served, "trim", src)
    assert lookup(served, "old.trim.example.test") == []
    assert lookup(served, "new.trim.example.test") == ["127.0.0.1"]
    assert names(installed_cert(served, "trim")) == ["new.trim.example.test", "trim.example.test"]


def test_a_domain_outside_the_zones_is_refused_at_validation(served: Sandbox, tmp_path: Path) -> None:
    result = served.push("stray", make_app(tmp_path, "stray", ["stray.example.test", "stray.other.test"]))
    assert result.returncode != 0
    text = output(result)
    assert "env.yml: domains: stray.other.test is outside the DNS zones this server manages (example.test)" in text
    assert "dns-zones" in text
    assert lookup(served, "stray.example.test") == []


def test_renewal_replaces_a_certificate_within_the_window_and_only_then(served: Sandbox, tmp_path: Path) -> None:
    pushed(served, "renew", make_app(tmp_path, "renew", ["renew.example.test"]))
    serial = installed_cert(served, "renew").serial_number
    served.ok("ansible-deploy:renew", "renew")
    assert installed_cert(served, "renew").serial_number == serial, "far from expiry: nothing is renewed"
    served.ok("ansible-deploy:set", "renew", "acme-renew-days", "100000")  # beyond the certificate's life
    served.ok("ansible-deploy:renew", "renew")
    renewed = installed_cert(served, "renew").serial_number
    assert renewed != serial
    assert (
        served.ok("ansible-deploy:report", "renew", "--ansible-deploy-tls-last-renewal-status").strip() == "succeeded"
    )
    served.ok("ansible-deploy:set", "renew", "acme-renew-days")
    served.ok("ansible-deploy:renew", "--all")
    assert installed_cert(served, "renew").serial_number == renewed


def test_an_unreachable_acme_server_fails_clearly_and_keeps_the_certificate(served: Sandbox, tmp_path: Path) -> None:
    """The ACME modules retry a refusing CA for minutes; acme-timeout bounds each step."""
    pushed(served, "keep", make_app(tmp_path, "keep", ["keep.example.test"]))
    serial = installed_cert(served, "keep").serial_number
    directory = served.ok("ansible-deploy:report", "keep", "--ansible-deploy-computed-acme-directory").strip()
    try:
        served.ok("ansible-deploy:set", "keep", "acme-renew-days", "100000")
        served.ok("ansible-deploy:set", "keep", "acme-timeout", "15")
        with refused_port() as down:
            served.ok("ansible-deploy:set", "--global", "acme-directory", f"https://127.0.0.1:{down}/dir")
            result = served.dokku("ansible-deploy:renew", "keep")
    finally:
        served.ok("ansible-deploy:set", "--global", "acme-directory", directory)
        served.ok("ansible-deploy:set", "keep", "acme-renew-days")
        served.ok("ansible-deploy:set", "keep", "acme-timeout")
    assert result.returncode == 1
    text = output(result)
    assert "renew failed at task" in text and "no result within 15 s: the server is down, refusing or too slow" in text
    assert "Traceback" not in text
    assert installed_cert(served, "keep").serial_number == serial
    assert served.ok("ansible-deploy:report", "keep", "--ansible-deploy-tls-last-renewal-status").strip() == "failed"


def test_an_unreachable_dns_server_fails_the_deploy_before_the_release(served: Sandbox, tmp_path: Path) -> None:
    src = make_app(tmp_path, "dnsdown", ["dnsdown.example.test"])
    try:
        with refused_port() as down:
            served.ok("ansible-deploy:set", "--global", "dns-port", str(down))
            result = served.push("dnsdown", src)
    finally:
        served.ok("ansible-deploy:set", "--global", "dns-port", str(services_facts(served)["bind"]["port"]))
    assert result.returncode != 0
    text = output(result)
    assert "pre-deploy failed at task 'Ensure each of the app's domains has its address records'" in text
    assert "Deploying dnsdown" not in text, "the new release never serves"


def test_check_mode_shows_a_missing_record_without_adding_it(served: Sandbox, tmp_path: Path) -> None:
    pushed(served, "drift", make_app(tmp_path, "drift", ["drift.example.test"]))
    facts = services_facts(served)["bind"]
    subprocess.run(["nsupdate", "-y", f"hmac-sha256:{facts['key_name']}:{facts['secret']}"],
                   input=f"server 127.0.0.1 {facts['port']}\nupdate delete drift.example.test. A\nsend\n",
                   text=True, check=True)  # fmt: skip
    assert lookup(served, "drift.example.test") == []
    result = served.dokku("ansible-deploy:run", "drift", "--check", "--phase", "pre-deploy")
    assert result.returncode == 0, output(result)
    assert (
        "would change: Ensure each of the app's domains has its address records (A drift.example.test.)"
        in result.stdout
    )
    assert lookup(served, "drift.example.test") == []
    served.ok("ansible-deploy:run", "drift", "--phase", "pre-deploy")
    assert lookup(served, "drift.example.test") == ["127.0.0.1"]


def test_rename_keeps_the_records_and_destroy_removes_them(served: Sandbox, tmp_path: Path) -> None:
    pushed(served, "life", make_app(tmp_path, "life", ["life.example.test"]))
    result = served.dokku("apps:rename", "life", "life2")
    assert result.returncode == 0, output(result)
    assert lookup(served, "life.example.test") == ["127.0.0.1"], "a rename never deprovisions"
    assert served.ok("ansible-deploy:report", "life2", "--ansible-deploy-dns-records").strip() == "A:life.example.test"
    result = served.dokku("--force", "apps:destroy", "life2")
    assert result.returncode == 0, output(result)
    assert lookup(served, "life.example.test") == []


def test_cron_entries_schedule_the_daily_renewal(served: Sandbox) -> None:
    hook = served.lib / "plugins" / "enabled" / "ansible-deploy" / "cron-entries"
    result = subprocess.run([str(served.root / "bin" / "dokku"), "plugin:trigger", "cron-entries", "docker-local"],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert hook.exists()
    assert result.stdout.strip().endswith(
        ";dokku ansible-deploy:renew --all;" + str(served.lib / "logs") + "/ansible-deploy-renew.log"
    )


def test_the_tsig_secret_never_shows(served: Sandbox, tmp_path: Path, started: float) -> None:
    """Not in the output of a push, a run that updates records, a check, the report or the logs, and in no file the
    run left (the sandbox, the temp folder, the dokku user's home) but the stores that must hold it."""
    seen = []
    if not (served.home / "shop").exists():
        seen.append(served.push("shop", make_app(tmp_path, "shop", ["shop.example.test"])))
    commands = [
        ("ansible-deploy:run", "shop"),
        ("ansible-deploy:run", "shop", "--check"),
        ("ansible-deploy:report", "shop"),
        ("ansible-deploy:logs", "shop"),
        ("report", "shop"),
    ]
    seen.extend(served.dokku(*command) for command in commands)
    assert all(result.returncode == 0 for result in seen), [output(result) for result in seen]
    secret = str(services_facts(served)["bind"]["secret"])
    assert all(secret not in output(result) for result in seen)
    assert files_holding(secret, served, started, tsig_stores(served)) == []


def tsig_stores(box: Sandbox) -> set[Path]:
    """The files that must hold the TSIG secret: the plugin's 0600 store, BIND's key file, the harness' record."""
    return {
        box.lib / "data" / "ansible" / ".settings" / "--global" / "dns-tsig-secret",
        box.root / "services" / "bind" / "key.conf",
        box.root / "services" / "services.json",
    }


SEEN_BY_A_STEP = """---
- name: Write down every variable a step is given
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Write them
      ansible.builtin.copy:
        content: "{{ vars | to_json }}"
        dest: "{{ ansible_deploy_data_dir }}/seen-by-a-step.json"
        mode: "0600"
"""


def test_a_step_of_an_app_without_dns_records_never_gets_the_tsig_secret(served: Sandbox, tmp_path: Path) -> None:
    """A run's variables are its custom steps' too; a run that has no DNS record to write or remove does not need
    the server's TSIG key, so neither it nor its steps get it."""
    src = make_app(tmp_path, "nodns", [])
    edit_env(src, domains=None, steps={"pre-deploy": ["ansible/seen.yml"]})
    (src / "ansible" / "seen.yml").write_text(SEEN_BY_A_STEP)
    pushed(served, "nodns", src)
    seen = (served.data_dir("nodns") / "seen-by-a-step.json").read_text()
    assert json.loads(seen)["ansible_deploy_app"] == "nodns", "the step ran and wrote what it was given"
    assert str(services_facts(served)["bind"]["secret"]) not in seen


def test_http_01_is_answered_through_the_apps_nginx_and_https_serves_the_app(served: Sandbox, tmp_path: Path) -> None:
    import socket
    import ssl

    src = make_app(tmp_path, "web", ["web.example.test"])
    served.admit("web")
    served.ok("ansible-deploy:set", "web", "acme-challenge", "http-01")
    text = pushed(served, "web", src)
    assert "Set the http-01 challenge responses to present" in text
    assert names(installed_cert(served, "web")) == ["web.example.test"]
    snippet = served.home / "web" / "nginx.conf.d" / "ansible-deploy-acme-challenge.conf"
    assert "/.well-known/acme-challenge/" in snippet.read_text()
    facts = services_facts(served)
    root = served.root / "pebble-root-web.pem"
    root.write_bytes(services.pebble_roots(facts["pebble"]))
    context = ssl.create_default_context(cafile=str(root))
    https = int(services.load_nginx(served.root)["https"])
    # As a browser asks: the name in SNI (which picks the app's certificate) and as Host; chain and name verified
    with (
        socket.create_connection(("127.0.0.1", https), timeout=5) as plain,
        context.wrap_socket(plain, server_hostname="web.example.test") as tls,
    ):
        tls.sendall(b"GET /hi HTTP/1.1\r\nHost: web.example.test\r\nConnection: close\r\n\r\n")
        answer = b"".join(iter(lambda: tls.recv(4096), b""))
    assert answer.startswith(b"HTTP/1.1 200") and b'"path": "/hi"' in answer


def test_the_tsig_secret_is_in_no_file_but_the_plugins_secret_store(
    served: Sandbox, tmp_path: Path, started: float
) -> None:
    if not (served.home / "shop").exists():
        pushed(served, "shop", make_app(tmp_path, "shop", ["shop.example.test"]))
    served.ok("ansible-deploy:run", "shop", "--check")
    secret = str(services_facts(served)["bind"]["secret"])
    assert files_holding(secret, served, started, tsig_stores(served)) == []
    assert all(p.stat().st_mode & 0o077 == 0 for p in tsig_stores(served))


def test_acme_keys_are_in_no_output_and_no_file_but_their_own(served: Sandbox, tmp_path: Path) -> None:
    if not (served.home / "shop").exists():
        pushed(served, "shop", make_app(tmp_path, "shop", ["shop.example.test"]))
    keys = [*(served.lib / "data" / "ansible" / ".acme").glob("*.key"), *served.data_dir("shop").glob("tls/*.key")]
    assert len(keys) >= 2  # the server's ACME account key and the app's key
    dokku_store = served.home / "shop" / "tls" / "server.key"  # Dokku's own copy, installed by certs:add
    bodies = [line for key in keys for line in key.read_text().splitlines() if line and not line.startswith("-----")]
    commands = [
        ("ansible-deploy:run", "shop", "--check"),
        ("ansible-deploy:renew", "shop"),
        ("ansible-deploy:report", "shop"),
        ("ansible-deploy:history", "shop"),
        ("ansible-deploy:logs", "shop"),
        ("report", "shop"),
    ]
    seen = "".join(output(served.dokku(*command)) for command in commands)
    assert not [line for line in bodies if line in seen]
    allowed = {*keys, dokku_store}
    assert all(p.stat().st_mode & 0o077 == 0 for p in keys)  # the plugin's: 0600
    assert dokku_store.stat().st_mode & 0o007 == 0  # Dokku's: not world-readable
    canaries = [line.encode() for line in bodies]
    leaks = [p for p in served.root.rglob("*") if p.is_file() and not p.is_symlink() and p not in allowed
             and any(c in p.read_bytes() for c in canaries)]  # fmt: skip
    assert leaks == []


def test_a_dns_server_that_never_answers_fails_the_push_within_its_timeout(served: Sandbox, tmp_path: Path) -> None:
    """nsupdate gives up after its fixed 10 s: the deploy fails at the records task, before the release serves."""
    src = make_app(tmp_path, "dnsslow", ["dnsslow.example.test"])
    with silent_server() as silent:
        served.ok("ansible-deploy:set", "--global", "dns-port", str(silent))
        try:
            result = served.push("dnsslow", src, timeout=180)
        finally:
            served.ok("ansible-deploy:set", "--global", "dns-port", str(services_facts(served)["bind"]["port"]))
    assert result.returncode != 0
    text = output(result)
    assert "pre-deploy failed at task 'Ensure each of the app's domains has its address records'" in text, text
    assert "Traceback" not in text
    assert "Deploying dnsslow" not in text, "the new release never serves"


def test_an_acme_server_that_never_answers_fails_the_push_within_its_timeout(served: Sandbox, tmp_path: Path) -> None:
    """A CA that accepts connections and never answers: the modules wait 10 s per request and retry for minutes,
    so acme-timeout bounds each step. The release serves (this is post-deploy) over plain HTTP until a later
    deploy or the daily renewal gets the certificate."""
    src = make_app(tmp_path, "acmeslow", ["acmeslow.example.test"])
    served.admit("acmeslow")
    served.ok("ansible-deploy:set", "acmeslow", "acme-timeout", "15")
    with silent_server() as silent:
        served.ok("ansible-deploy:set", "--global", "acme-directory", f"https://127.0.0.1:{silent}/dir")
        try:
            result = served.push("acmeslow", src, timeout=180)
        finally:
            served.ok(
                "ansible-deploy:set", "--global", "acme-directory", str(services_facts(served)["pebble"]["directory"])
            )
    assert result.returncode != 0
    text = output(result)
    assert "post-deploy failed at task 'Ensure the server's account exists with the CA': no result within 15 s" in text
    assert "Traceback" not in text
    assert not (served.home / "acmeslow" / "tls" / "server.crt").exists()


def test_a_failed_first_push_takes_back_the_records_it_created(served: Sandbox, tmp_path: Path) -> None:
    src = make_app(tmp_path, "undone", ["undone.example.test"])
    break_pre_deploy(src)  # after the dns role has created the records
    failed = served.push("undone", src)
    assert failed.returncode != 0
    assert "taking back what the failed run set" in output(failed)
    assert "Ensure each of the app's domains has its address records" in output(failed), "the records were made"
    assert lookup(served, "undone.example.test") == []


def test_the_json_plan_names_the_dns_records_and_the_certificate_a_domain_needs(
    served: Sandbox, tmp_path: Path
) -> None:
    """A domain the server lost (its Dokku domain, its record, the certificate covering it) is what a domain added
    to env.yml looks like to the plan: the domains, the DNS record and a certificate order."""
    pushed(served, "planned", make_app(tmp_path, "planned", ["planned.example.test", "www.planned.example.test"]))
    served.ok("domains:remove", "planned", "www.planned.example.test")
    facts = services_facts(served)["bind"]
    subprocess.run(["nsupdate", "-y", f"hmac-sha256:{facts['key_name']}:{facts['secret']}"],
                   input=f"server 127.0.0.1 {facts['port']}\nupdate delete www.planned.example.test. A\nsend\n",
                   text=True, check=True)  # fmt: skip
    (served.lib / "data" / "ansible" / "planned" / "tls" / "server.crt").unlink()  # the plugin's copy and
    served.ok("certs:remove", "planned")  # Dokku's: one Dokku serves that the plugin has no copy of is the admin's
    result = served.dokku("ansible-deploy:run", "planned", "--check", "--format", "json")
    assert result.returncode == 2, result.stderr
    plan = json.loads(result.stdout)
    assert plan["dns_records"] == [{"type": "A", "record": "www.planned.example.test.", "state": "present"}]
    assert plan["certificate_order"] is True, json.dumps(plan["phases"], indent=1)
    roles = {c["role"] for phase in plan["phases"] for c in phase["changes"]}
    assert {"domains", "dns", "tls"} <= roles
    assert facts["secret"] not in result.stdout + result.stderr
    assert lookup(served, "www.planned.example.test") == []  # nothing was changed


def test_an_app_that_forces_https_passes_its_first_deploy_and_the_next(served: Sandbox, tmp_path: Path) -> None:
    """The app redirects every request nginx did not receive over HTTPS. Its certificate comes only in post-deploy,
    after the gate; nginx will then send X-Forwarded-Proto https, and so does the gate, from the first deploy on."""
    src = make_app(tmp_path, "secure", ["secure.example.test"])
    edit_env(src, env={"GREETING": "hi", "FORCE_HTTPS": "true"})
    text = pushed(served, "secure", src)
    assert "Checking https://secure.example.test/healthz (at the new container, 127.0.0.1:" in text
    assert "Checking https://secure.example.test/healthz (through 127.0.0.1:" in text
    restarted = served.dokku("ps:restart", "secure")
    assert restarted.returncode == 0, output(restarted)
    assert "Checking https://secure.example.test/healthz (at the new container" in output(restarted)
