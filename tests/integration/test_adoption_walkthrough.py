"""The README's "Adopting an existing app", run as printed on a sandbox: an app that runs without packaging, with a
database holding rows, a folder with files, an admin's certificate, two domains, a port map and settings, handed
over and pushed with packaging for the first time, then backed up. Nothing is moved, replaced or lost."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import psycopg2
from conftest import REPO, Sandbox, as_dokku, edit_env, output

APP, SERVICE = "store", "storedb"
DOMAINS = ["store.example.test", "www.store.example.test"]


def walkthrough() -> list[str]:
    """The commands of the section's sh block, in order (comments dropped)."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Adopting an existing app", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [line for line in block.splitlines() if line.strip()]


def rows(box: Sandbox) -> list[tuple[object, ...]]:
    parts = urllib.parse.urlsplit(box.ok("config:get", APP, "DATABASE_URL").strip())
    host = box.ok("postgres:info", SERVICE, "--internal-ip").strip()  # the URL's host is the service's container
    with psycopg2.connect(
        host=host, port=parts.port, user=parts.username, password=parts.password, dbname=parts.path[1:]
    ) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE IF NOT EXISTS notes (body text)")
        cur.execute("SELECT count(*) FROM notes")
        if cur.fetchone() == (0,):
            cur.execute("INSERT INTO notes VALUES ('kept'), ('also kept')")
        cur.execute("SELECT body FROM notes ORDER BY body")
        return list(cur.fetchall())


def the_past(box: Sandbox, src: Path) -> Path:
    """What the server had before the plugin: the app deployed from its code alone, and what the admin gave it."""
    box.ok("apps:create", APP)
    box.ok("ansible-deploy:set", APP, "database-backend", "dokku-service")
    box.ok("postgres:create", SERVICE)
    box.ok("postgres:link", SERVICE, APP)
    folder = box.lib / "data" / "storage" / "store-files"
    folder.mkdir(parents=True)
    (folder / "invoice-1.pdf").write_text("an attachment the app wrote")
    as_dokku(folder)
    box.ok("storage:mount", APP, f"{folder}:/app/attachments")
    box.ok("domains:add", APP, *DOMAINS)
    box.ok("config:set", "--no-restart", APP, "SECRET_KEY_BASE=set-by-the-admin", "RAILS_ENV=production")
    box.ok("ports:set", APP, "http:80:5000", "https:443:5000")
    crt, key = box.root / "store.crt", box.root / "store.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
         "-subj", f"/CN={DOMAINS[0]}", "-addext", f"subjectAltName=DNS:{DOMAINS[0]}", "-keyout", str(key),
         "-out", str(crt)],
        check=True, capture_output=True,
    )  # fmt: skip
    crt.chmod(0o644)
    key.chmod(0o644)
    box.ok("certs:add", APP, str(crt), str(key))
    code_only = src.parent / "code-only"
    shutil.copytree(src, code_only)
    (code_only / "env.yml").unlink()
    pushed = box.push(APP, code_only)
    assert pushed.returncode == 0, output(pushed)
    return folder


def test_the_readme_walkthrough_adopts_an_app_with_a_past_and_loses_nothing(served: Sandbox, tmp_path: Path) -> None:
    src = tmp_path / APP
    shutil.copytree(REPO / "examples" / "notes", src)
    edit_env(src, domains=DOMAINS)
    folder = the_past(served, src)
    before_rows = rows(served)
    before_url = served.ok("config:get", APP, "DATABASE_URL").strip()
    admins = (served.home / APP / "tls" / "server.crt").read_bytes()

    first = served.push(APP, src)  # without the hand-over: refused, nothing changed
    assert first.returncode != 0
    assert f"dokku ansible-deploy:set {APP} adopt-" in output(first), output(first)
    assert "Traceback" not in output(first)

    tree = served.root / "store-tree"  # readable by the dokku user (pytest's own folders are not)
    shutil.copytree(src, tree)
    as_dokku(tree)
    env = {**os.environ, "PATH": f"{served.root / 'bin'}:{os.environ['PATH']}", "TREE": str(tree)}
    for line in walkthrough():
        if line.startswith("git push dokku main"):
            result = served.push(APP, src)  # the same git push, to the sandbox's repository
        else:
            result = subprocess.run(["bash", "-c", line], env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{line}\n{output(result)}"
        assert "Traceback" not in output(result), line

    assert served.ok("config:get", APP, "DATABASE_URL").strip() == before_url
    assert rows(served) == before_rows
    assert (folder / "invoice-1.pdf").read_text() == "an attachment the app wrote"
    mounts = json.loads(served.ok("storage:list", APP, "--format", "json"))
    assert [m["container_path"] for m in mounts] == ["/app/attachments"]
    assert served.ok("config:get", APP, "SECRET_KEY_BASE").strip() == "set-by-the-admin"
    assert served.ok("config:get", APP, "RAILS_ENV").strip() == "production"
    assert set(served.ok("domains:report", APP, "--domains-app-vhosts").split()) == set(DOMAINS)
    assert served.dokku("postgres:exists", APP).returncode != 0  # no second database
    [backup] = json.loads(served.ok("ansible-deploy:backups", APP, "--format", "json"))
    assert backup["id"]
    assert served.ok("ansible-deploy:report", APP, "--ansible-deploy-last-drill-result").strip() == "succeeded"
    assert (served.home / APP / "tls" / "server.crt").read_bytes() != admins  # the CA's replaced the admin's
