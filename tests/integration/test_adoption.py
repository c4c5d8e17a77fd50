"""An app with a past: certificates that exist before its first push are kept, never replaced silently."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, Sandbox, as_dokku, edit_env, output

DEAD_CA = "https://127.0.0.1:9/dir"  # refused before any order: the CA is never asked


@pytest.fixture(scope="module")
def box() -> Sandbox:
    from conftest import drop_sandbox, new_sandbox

    sandbox = new_sandbox()
    sandbox.ok("ansible-deploy:set", "--global", "acme-directory", DEAD_CA)
    sandbox.ok("ansible-deploy:set", "--global", "acme-timeout", "10")
    yield sandbox
    drop_sandbox(sandbox)


def _admins_certificate(box: Sandbox, app: str, domain: str) -> bytes:
    """What `certs:add` leaves: the admin's own certificate, served before the first push."""
    box.admit(app)
    crt, key = box.root / f"{app}.crt", box.root / f"{app}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
         "-subj", f"/CN={domain}", "-addext", f"subjectAltName=DNS:{domain}", "-keyout", str(key), "-out", str(crt)],
        check=True, capture_output=True,
    )  # fmt: skip
    crt.chmod(0o644)
    key.chmod(0o644)
    box.ok("ports:set", app, "http:80:5000")
    box.ok("certs:add", app, str(crt), str(key))
    return crt.read_bytes()


def _letsencrypt_certificate(box: Sandbox, app: str, domain: str) -> bytes:
    """What dokku-letsencrypt leaves once it issued (its internal-functions fn-letsencrypt-symlink-certs): the
    certificate under letsencrypt/certs/HASH/certificates/, `current` pointing at that folder, certs:add of it, and
    tls/server.letsencrypt.crt, a copy that marks the app as its own (fn-letsencrypt-is-active)."""
    cert = _admins_certificate(box, app, domain)
    issued = box.home / app / "letsencrypt" / "certs" / "0123abcd" / "certificates"
    issued.mkdir(parents=True)
    (issued / f"{domain}.crt").write_bytes(cert)
    (issued.parent.parent / "current").symlink_to(issued.parent)
    (box.home / app / "tls" / "server.letsencrypt.crt").write_bytes(cert)
    as_dokku(box.home / app)
    return cert


def test_a_certificate_managed_by_dokku_letsencrypt_is_refused_with_the_hand_over(box: Sandbox, app_src: Path) -> None:
    edit_env(app_src, domains=["le.example.test"])
    cert = _letsencrypt_certificate(box, "lehello", "le.example.test")
    refused = box.push("lehello", app_src)
    text = output(refused)
    assert refused.returncode != 0
    assert "dokku-letsencrypt manages the certificate of lehello" in text
    assert "dokku letsencrypt:disable lehello" in text
    assert "Traceback" not in text
    assert (box.home / "lehello" / "tls" / "server.crt").read_bytes() == cert


def test_an_admins_certificate_is_kept_unless_the_admin_hands_it_over(box: Sandbox, app_src: Path) -> None:
    edit_env(app_src, domains=["own.example.test"])
    cert = _admins_certificate(box, "ownhello", "own.example.test")
    refused = box.push("ownhello", app_src)
    text = output(refused)
    assert refused.returncode != 0
    assert "ownhello serves a certificate ansible-deploy did not install (certs:add)" in text
    assert "dokku ansible-deploy:set ownhello adopt-certificate true" in text
    assert "Traceback" not in text
    assert (box.home / "ownhello" / "tls" / "server.crt").read_bytes() == cert

    edit_env(app_src, tls="none")  # keep the admin's certificate: the push goes through and leaves it serving
    box.ok("ansible-deploy:set", "ownhello", "healthcheck-ca-file", str(box.root / "ownhello.crt"))  # self-signed
    kept = box.push("ownhello", app_src)
    assert kept.returncode == 0, output(kept)
    assert (box.home / "ownhello" / "tls" / "server.crt").read_bytes() == cert
    assert "https:443:5000" in box.ok("ports:report", "ownhello", "--ports-map").split()


def test_domains_and_port_maps_the_first_push_would_drop_are_refused(box: Sandbox, app_src: Path) -> None:
    box.admit("past")
    box.ok("domains:add", "past", "admins.example.test")
    box.ok("ports:add", "past", "http:8080:5000")
    box.ok("config:set", "--no-restart", "past", "OTHER=kept by the push")
    edit_env(app_src, domains=["past.example.test"], tls="none")

    refused = box.push("past", app_src)
    text = output(refused)
    assert refused.returncode != 0
    assert "past has domains env.yml does not list: admins.example.test" in text
    assert "dokku domains:remove past admins.example.test" in text
    assert "http:8080:5000" in text and "dokku ports:remove past http:8080:5000" in text
    assert "Traceback" not in text
    assert "admins.example.test" in box.ok("domains:report", "past", "--domains-app-vhosts").split()
    assert "http:8080:5000" in box.ok("ports:report", "past", "--ports-map").split()

    assert box.push("past", app_src).returncode != 0, "a refusal records nothing that lets the next push through"

    box.ok("domains:remove", "past", "admins.example.test")
    box.ok("ports:remove", "past", "http:8080:5000")
    accepted = box.push("past", app_src)
    assert accepted.returncode == 0, output(accepted)
    assert box.config("past")["OTHER"] == "kept by the push"


def test_run_check_with_a_tree_shows_what_the_first_push_would_change(box: Sandbox, app_src: Path) -> None:
    box.admit("before")
    box.ok("config:set", "--no-restart", "before", "GREETING=the admin's", "OTHER=kept")
    box.ok("domains:add", "before", "old.example.test")
    edit_env(app_src, domains=["before.example.test"], tls="none")
    tree = box.root / "before-tree"  # a copy of the tree on the server, readable by the dokku user
    shutil.copytree(app_src, tree)
    as_dokku(tree)

    refused = box.dokku("ansible-deploy:run", "before", "--check", "--tree", str(tree))
    assert refused.returncode == 1, output(refused)
    assert "before has domains env.yml does not list: old.example.test" in refused.stderr
    assert "Traceback" not in output(refused)

    box.ok("domains:remove", "before", "old.example.test")
    checked = box.dokku("ansible-deploy:run", "before", "--check", "--tree", str(tree))
    text = output(checked)
    assert checked.returncode == 0, text
    assert '"GREETING": "the admin\'s"' in text and '"GREETING": "hello from env.yml"' in text
    assert "before.example.test" in text
    assert box.config("before")["GREETING"] == "the admin's", "check mode changes nothing"
    assert not (box.data_dir("before") / "staged").exists(), "nothing is staged"

    bad = box.dokku("ansible-deploy:run", "before", "--tree", str(tree))
    assert bad.returncode == 1 and "--tree is for --check" in bad.stderr

    hostile = box.root / "hostile-tree"  # a tree is the pusher's, checked as a push is
    case = REPO / "tests" / "fixtures" / "hostile" / "symlink-to-host-file"
    shutil.copytree(case, hostile, symlinks=True, ignore=shutil.ignore_patterns("EXPECT"))
    as_dokku(hostile)
    refused = box.dokku("ansible-deploy:run", "before", "--check", "--tree", str(hostile))
    assert refused.returncode == 1
    assert (case / "EXPECT").read_text().strip() in refused.stderr
    assert "Traceback" not in output(refused)
