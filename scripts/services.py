"""Real servers for a sandbox, on 127.0.0.1 and free ports: BIND, Pebble, Prometheus, PostgreSQL, MariaDB and an
S3-compatible store (SeaweedFS) for off-host backups.

Used by `scripts/sandbox services ROOT up|down` and by the tests. Each server runs in ROOT/services/NAME/,
its facts (ports, pid, TSIG secret) in ROOT/services/NAME/service.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the plugin's package, on any Python 3
from ansible_dokku_deploy.packaging.nginx_check import error_log_args

ZONE = "example.test"
KEY_NAME = "ansible-deploy-sandbox"

NAMED_CONF = """include "{d}/key.conf";
options {{
  directory "{d}";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  pid-file "{d}/named.pid";
  session-keyfile "{d}/session.key";
  managed-keys-directory "{d}";
  recursion no;
  dnssec-validation no;
  allow-query {{ 127.0.0.1; }};
}};
controls {{ }};
zone "{zone}" {{ type master; file "{d}/db.{zone}"; allow-update {{ key "{key}"; }}; }};
"""
ZONE_FILE = """$TTL 60
@   IN SOA ns.{zone}. admin.{zone}. 1 60 60 600 60
@   IN NS  ns.{zone}.
ns  IN A   127.0.0.1
"""


_PORTS = range(10000, 20000)
_picked: set[int] = set()  # every port this process handed out: it may not be bound yet, so bind() cannot tell
_picking = threading.Lock()


def _share() -> range:
    """The ports this process picks from: 10000-19999, below the kernel's ephemeral range, which bind(0) and every
    outgoing connection draw from (a port found free there can be taken before the server binds it), and below
    20000, where the Dokku test double picks its apps' ports. A pytest-xdist worker, and what it starts, picks from
    a share of its own, so two workers starting servers at once never pick the same port."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not (worker.startswith("gw") and worker[2:].isdigit() and count.isdigit() and int(count) > 1):
        return _PORTS
    size = len(_PORTS) // int(count)
    start = _PORTS.start + (int(worker[2:]) % int(count)) * size
    return range(start, start + size)


def free_port() -> int:
    """A free loopback port for a server to bind later, never one this process picked before (a server started
    alongside may not have bound its own yet); picked at random from this process's share (_share)."""
    share = _share()
    with _picking:
        for _ in range(200):
            port = share.start + secrets.randbelow(len(share))
            if port in _picked:
                continue
            with socket.socket() as s, contextlib.suppress(OSError):
                s.bind(("127.0.0.1", port))
                _picked.add(port)
                return port
    raise RuntimeError(f"no free port in {share.start}-{share.stop - 1}")


_spawned: list[int] = []  # the servers this process started (each the leader of its own session)


def _spawn(argv: list[str], log: Path, **popen: object) -> subprocess.Popen[bytes]:
    """Start a server in a session of its own (stopped with its whole group), its output appended to log."""
    with log.open("a") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **popen)  # type: ignore[call-overload]
    _spawned.append(proc.pid)  # one append: safe from the starts' threads as it is
    return proc


def _serve(
    argv: list[str], log: Path, ready: Callable[[], object], what: str, seconds: float = 15.0, **popen: object
) -> subprocess.Popen[bytes]:
    """_spawn, then wait until ready() says the server serves. One that exits first is reported at once, and one
    not ready in time is stopped; either way the error ends with the last lines of its log."""
    proc = _spawn(argv, log, **popen)
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if ready():
                return proc
        time.sleep(0.05)
    status = proc.poll()
    why = f"did not start within {seconds:.0f}s" if status is None else f"exited with status {status}"
    stop(proc.pid)
    proc.wait()
    said = "\n".join(log.read_text(errors="replace").splitlines()[-5:])
    raise RuntimeError(f"{what} {why}; the end of {log}:\n{said}")


def _give_to(user: str, path: Path) -> None:
    if os.geteuid() == 0:
        ids = pwd.getpwnam(user)
        for item in [path, *path.rglob("*")]:
            os.chown(item, ids.pw_uid, ids.pw_gid)


def start_bind(folder: Path) -> dict[str, object]:
    import dns.exception  # noqa: PLC0415  # only BIND's check needs dnspython: the sandbox's init runs without it
    import dns.message  # noqa: PLC0415
    import dns.query  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    port = free_port()
    key = subprocess.run(
        ["tsig-keygen", "-a", "hmac-sha256", KEY_NAME], capture_output=True, text=True, check=True
    ).stdout
    (folder / "key.conf").write_text(key)
    (folder / "key.conf").chmod(0o600)  # the TSIG secret
    secret = key.split('secret "')[1].split('"')[0]
    (folder / "named.conf").write_text(NAMED_CONF.format(d=folder, port=port, zone=ZONE, key=KEY_NAME))
    (folder / f"db.{ZONE}").write_text(ZONE_FILE.format(zone=ZONE))
    user = ["-u", "bind"] if os.geteuid() == 0 else []
    _give_to("bind", folder)

    def answers() -> bool:
        try:
            reply = dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port, timeout=0.5)
        except dns.exception.DNSException:
            return False
        return bool(reply.answer)

    argv = ["named", "-g", "-4", "-c", str(folder / "named.conf"), "-p", str(port), *user]
    proc = _serve(argv, folder / "named.log", answers, "BIND")
    return {"pid": proc.pid, "port": port, "zone": ZONE, "key_name": KEY_NAME, "secret": secret}


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


NGINX_CONF = """daemon off;
{user}
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  access_log {d}/access.log;
  server_names_hash_bucket_size 128;
  server {{ listen 127.0.0.1:{http} default_server; return 404; }}
  server {{
    listen 127.0.0.1:{https} ssl default_server; return 404;
    ssl_certificate {d}/default.pem; ssl_certificate_key {d}/default.key;
  }}
  include {apps}/*/nginx.conf;
}}
"""


def nginx_config(folder: Path, apps: Path, http_port: int, user: str) -> int:
    """Write folder/nginx.conf, serving each APP/nginx.conf under apps, and its default HTTPS server's own
    certificate; returns the HTTPS port. Both ports are listened on from the start, as 80 and 443 are on a server:
    a port picked but left free until the first app has a certificate could be taken by another sandbox's Pebble."""
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
        "-subj", "/CN=sandbox nginx default server", "-keyout", str(folder / "default.key"),
        "-out", str(folder / "default.pem"),
    )  # fmt: skip
    (folder / "default.key").chmod(0o600)
    https_port = free_port()
    (folder / "nginx.conf").write_text(
        NGINX_CONF.format(d=folder, http=http_port, https=https_port, apps=apps, user=user)
    )
    return https_port


def start_nginx(folder: Path, root: Path, http_port: int) -> dict[str, object]:
    """Dokku's nginx, on two loopback ports in place of 80 and 443: the master as root and the workers as www-data,
    as Debian's nginx runs (the dokku user reloads it through a root helper, as through Dokku's sudoers rule)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    user = "user www-data;" if os.geteuid() == 0 else ""
    https_port = nginx_config(folder, root / "home" / "dokku", http_port, user)

    def listens() -> bool:
        for port in (http_port, https_port):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True

    argv = ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf"), *error_log_args("nginx", folder)]
    proc = _serve(argv, folder / "nginx.log", listens, "nginx")
    facts = {"pid": proc.pid, "http": http_port, "https": https_port, "pid_file": str(folder / "nginx.pid")}
    vhosts = root / "var" / "lib" / "dokku" / "data" / "nginx-vhosts"
    vhosts.mkdir(parents=True, exist_ok=True)
    (vhosts / "sandbox.json").write_text(json.dumps(facts))
    if os.geteuid() == 0:
        _give_to("dokku", vhosts)
    return facts


def start_pebble(folder: Path, dns_port: int, http_port: int) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        str(folder / "ca.key"),
        "-out",
        str(folder / "ca.pem"),
        "-days",
        "30",
        "-subj",
        "/CN=sandbox pebble listener CA",
    )
    _openssl("req", *ec, "-keyout", str(folder / "wfe.key"), "-out", str(folder / "wfe.csr"), "-subj", "/CN=localhost")
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        str(folder / "wfe.csr"),
        "-CA",
        str(folder / "ca.pem"),
        "-CAkey",
        str(folder / "ca.key"),
        "-CAcreateserial",
        "-out",
        str(folder / "wfe.pem"),
        "-days",
        "30",
        "-extfile",
        str(folder / "san.ext"),
    )
    (folder / "ca.pem").chmod(0o644)
    port, management, tls_port = free_port(), free_port(), free_port()
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{port}",
            "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(folder / "wfe.pem"),
            "privateKey": str(folder / "wfe.key"),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    (folder / "pebble.json").write_text(json.dumps(config))
    env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}
    context = ssl.create_default_context(cafile=str(folder / "ca.pem"))

    def answers() -> bool:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/dir", context=context, timeout=1) as reply:
            return reply.status == 200

    argv = ["pebble", "-config", str(folder / "pebble.json"), "-dnsserver", f"127.0.0.1:{dns_port}"]
    proc = _serve(argv, folder / "pebble.log", answers, "Pebble", env=env)
    return {
        "pid": proc.pid,
        "directory": f"https://127.0.0.1:{port}/dir",
        "management": management,
        "http_port": http_port,
        "ca_file": str(folder / "ca.pem"),
    }


def pebble_roots(pebble: dict[str, object]) -> bytes:
    """The root that signs Pebble's certificates (new on every start)."""
    context = ssl.create_default_context(cafile=str(pebble["ca_file"]))
    url = f"https://127.0.0.1:{pebble['management']}/roots/0"
    with urllib.request.urlopen(url, context=context, timeout=5) as reply:
        return bytes(reply.read())


BLACKBOX_CONF = """modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      tls_config: {{ca_file: "{ca_file}"}}
"""
PROMETHEUS_CONF = """global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{rules}/*.yml"]
scrape_configs:
  - job_name: ansible-deploy-probe
    metrics_path: /probe
    params: {{module: [http_2xx]}}
    file_sd_configs: [{{files: ["{targets}/ansible-deploy-probe-*.json"], refresh_interval: 1s}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: "127.0.0.1:{blackbox}"}}
  - job_name: ansible-deploy-metrics
    file_sd_configs: [{{files: ["{targets}/ansible-deploy-metrics-*.json"], refresh_interval: 1s}}]
"""


def start_prometheus(folder: Path, ca_file: Path) -> dict[str, object]:
    """The blackbox exporter and Prometheus, reading the target and rule folders the plugin writes into."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    for name in ("targets", "rules", "textfile"):
        (folder / name).mkdir(exist_ok=True)
        (folder / name).chmod(0o755)
        _give_to("dokku", folder / name)  # the plugin writes them as the dokku user
    blackbox_port, port = free_port(), free_port()
    (folder / "blackbox.yml").write_text(BLACKBOX_CONF.format(ca_file=ca_file))
    (folder / "prometheus.yml").write_text(
        PROMETHEUS_CONF.format(rules=folder / "rules", targets=folder / "targets", blackbox=blackbox_port)
    )
    blackbox = _spawn(
        ["prometheus-blackbox-exporter", f"--config.file={folder / 'blackbox.yml'}",
         f"--web.listen-address=127.0.0.1:{blackbox_port}"],
        folder / "blackbox.log",
    )  # fmt: skip

    def ready() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as reply:
            return reply.status == 200

    argv = ["prometheus", f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    prometheus = _serve(argv, folder / "prometheus.log", ready, "Prometheus")
    return {"pid": prometheus.pid, "blackbox_pid": blackbox.pid, "port": port, "folder": str(folder)}


def query(prometheus: dict[str, object], expr: str) -> list[dict[str, object]]:
    """Prometheus's answer to an instant query."""
    url = f"http://127.0.0.1:{prometheus['port']}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as reply:
        return list(json.loads(reply.read())["data"]["result"])


def _as(user: str) -> list[str]:
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def _admin_password(folder: Path) -> Path:
    """The admin's password, in a file the dokku user (who runs the plugin) can read and nobody else."""
    path = folder / "admin-password"
    path.write_text(secrets.token_hex(16))
    path.chmod(0o600)
    if os.geteuid() == 0:
        ids = pwd.getpwnam("dokku")
        os.chown(path, ids.pw_uid, ids.pw_gid)
    return path


def start_postgres(folder: Path) -> dict[str, object]:
    """A PostgreSQL cluster run by the postgres user, scram-sha-256 over TCP, admin role `postgres`."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    password = _admin_password(folder)
    pwfile = folder / "pwfile"
    pwfile.write_text(password.read_text())
    _give_to("postgres", folder)
    password_owner = pwd.getpwnam("dokku") if os.geteuid() == 0 else None
    if password_owner:
        os.chown(password, password_owner.pw_uid, password_owner.pw_gid)
    bin_dir = max(Path("/usr/lib/postgresql").glob("*/bin"))
    subprocess.run(
        [*_as("postgres"), str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "postgres",
         f"--pwfile={pwfile}", "--auth-local=peer", "--auth-host=scram-sha-256"],
        check=True, capture_output=True,
    )  # fmt: skip
    pwfile.unlink()
    port = free_port()
    (folder / "sock").mkdir(exist_ok=True)
    _give_to("postgres", folder / "sock")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder / 'sock'} -c fsync=off"
    subprocess.run(
        [*_as("postgres"), str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "pg.log"), "-w",
         "-o", options, "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    pid = int((folder / "data" / "postmaster.pid").read_text().split()[0])
    return {"pid": pid, "port": port, "user": "postgres", "password_file": str(password), "folder": str(folder)}


def start_mariadb(folder: Path) -> dict[str, object]:
    """A MariaDB server run by the mysql user on loopback, with an admin user `admin` that logs in over TCP."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    password = _admin_password(folder)
    (folder / "data").mkdir(exist_ok=True)
    _give_to("mysql", folder / "data")
    user = ["--user=mysql"] if os.geteuid() == 0 else []
    subprocess.run(
        ["mariadb-install-db", "--no-defaults", *user, f"--datadir={folder / 'data'}",
         "--auth-root-authentication-method=socket", "--skip-test-db"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    socket_path = folder / "data" / "mysql.sock"
    argv = ["mariadbd", "--no-defaults", *user, f"--datadir={folder / 'data'}", f"--socket={socket_path}",
            f"--pid-file={folder / 'data' / 'mysqld.pid'}", f"--port={port}", "--bind-address=127.0.0.1",
            "--skip-name-resolve", "--innodb-buffer-pool-size=64M"]  # fmt: skip

    def listens() -> bool:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True

    proc = _serve(argv, folder / "mariadb.log", listens, "MariaDB")
    sql = (
        f"CREATE USER 'admin'@'127.0.0.1' IDENTIFIED BY '{password.read_text()}';"
        " GRANT ALL ON *.* TO 'admin'@'127.0.0.1' WITH GRANT OPTION;"
    )
    subprocess.run(["mariadb", "--no-defaults", f"--socket={socket_path}", "-u", "root"], input=sql, text=True,
                   check=True, capture_output=True)  # fmt: skip
    return {"pid": proc.pid, "port": port, "user": "admin", "password_file": str(password), "folder": str(folder)}


def start_seaweedfs(folder: Path) -> dict[str, object]:
    """SeaweedFS's master, volume, filer and S3 gateway in one process, every port on loopback and chosen here,
    no telemetry; one S3 identity of the sandbox's own, its secret key in a file only root and dokku read."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    (folder / "data").mkdir(exist_ok=True)
    access_key, secret_key = f"sandbox{secrets.token_hex(4)}", secrets.token_hex(20)
    identity = {"name": "sandbox", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]}  # fmt: skip
    config = folder / "s3.json"
    config.write_text(json.dumps({"identities": [identity]}))
    config.chmod(0o600)
    keys = {"access_key_id": _secret_file(folder, "access-key-id", access_key),
            "secret_access_key": _secret_file(folder, "secret-access-key", secret_key),
            "repository_password": _secret_file(folder, "repository-password", secrets.token_hex(16))}  # fmt: skip
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: free_port() for name in ports}
    weed = Path(sys.executable).with_name("weed")
    argv = [str(weed if weed.exists() else "weed"), f"-logdir={folder}",  # its own logs in the sandbox, not in /tmp
         "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={folder / 'data'}", "-master.telemetry=false",
         "-master.volumeSizeLimitMB=64", "-volume.max=8",
         f"-master.port={ports['master']}", f"-master.port.grpc={grpc['master']}",
         f"-volume.port={ports['volume']}", f"-volume.port.grpc={grpc['volume']}",
         "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={grpc['filer']}",
         "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={grpc['s3']}", f"-s3.config={config}",
         "-s3.port.iceberg=0", "-s3.port.lance=0"]  # fmt: skip
    # Its unix sockets, one per server, are always made in /tmp (no setting moves the gRPC ones): down() removes them
    sockets = [f"/tmp/seaweedfs-{name}-grpc-{port}.sock" for name, port in grpc.items()]  # noqa: S108
    sockets += [f"/tmp/seaweedfs-{name}-{ports[name]}.sock" for name in ("filer", "s3")]  # noqa: S108
    facts = {"port": ports["s3"], "endpoint": f"http://127.0.0.1:{ports['s3']}", "bucket": "backups", **keys,
             "argv": argv, "folder": str(folder), "sockets": sockets}  # fmt: skip
    return restart_seaweedfs(facts)


def restart_seaweedfs(facts: dict[str, object]) -> dict[str, object]:
    """SeaweedFS (again, after a stop: the same ports, keys and data); the facts with its new pid."""
    folder = Path(str(facts["folder"]))

    def answers() -> bool:  # any S3 answer (an anonymous request is refused) once the filer behind it is up
        try:
            urllib.request.urlopen(f"{facts['endpoint']}/", timeout=1).close()
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        return True

    try:
        proc = _serve(list(facts["argv"]), folder / "weed.log", answers, "SeaweedFS", seconds=60)  # type: ignore[call-overload]
    except RuntimeError:
        for path in facts["sockets"]:  # type: ignore[attr-defined]
            Path(path).unlink(missing_ok=True)
        raise
    return {**facts, "pid": proc.pid}


def _secret_file(folder: Path, name: str, value: str) -> str:
    path = folder / name
    path.write_text(value)
    path.chmod(0o600)
    _give_to("dokku", path)
    return str(path)


def double_backing(root: Path, engine: str, facts: dict[str, object]) -> None:
    """Tell the sandbox's Dokku double which real server backs its postgres:*/mysql:* services."""
    folder = root / "var" / "lib" / "dokku" / "services" / engine
    folder.mkdir(parents=True, exist_ok=True)
    server = {"host": "127.0.0.1", "port": facts["port"], "user": facts["user"],
              "password": Path(str(facts["password_file"])).read_text()}  # fmt: skip
    path = folder / ".double-server.json"
    path.write_text(json.dumps(server))
    path.chmod(0o600)
    _give_to("dokku", folder.parent)


def _folder(root: Path) -> Path:
    services = root / "services"
    services.mkdir(parents=True, exist_ok=True)
    services.chmod(0o755)
    return services


def nginx_up(root: Path) -> dict[str, object]:
    """The sandbox's nginx, part of every sandbox as nginx is of every Dokku server (started once)."""
    facts = load_nginx(root)
    if facts and _alive(int(facts["pid"])):  # type: ignore[call-overload]
        return facts
    facts = start_nginx(_folder(root) / "nginx", root, free_port())
    (root / "services" / "nginx.json").write_text(json.dumps(facts))
    return facts


def load_nginx(root: Path) -> dict[str, object]:
    path = root / "services" / "nginx.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _acme_chain(services: Path, nginx: dict[str, object]) -> dict[str, dict[str, object]]:
    """BIND, then Pebble (it resolves through BIND and checks http-01 answers on nginx), then Prometheus (it
    trusts Pebble's root)."""
    bind = start_bind(services / "bind")
    pebble = start_pebble(services / "pebble", int(bind["port"]), int(nginx["http"]))  # type: ignore[call-overload]
    (services / "pebble" / "root.pem").write_bytes(pebble_roots(pebble))
    (services / "pebble" / "root.pem").chmod(0o644)
    return {"bind": bind, "pebble": pebble,
            "prometheus": start_prometheus(services / "prometheus", services / "pebble" / "root.pem")}  # fmt: skip


def up(root: Path) -> dict[str, dict[str, object]]:
    """Every server, side by side where one does not need another; what started is in services.json even when
    another failed to start (so that `down` stops it), and the first failure is raised."""
    services = _folder(root)
    nginx = nginx_up(root)  # the sandbox's own: it stays up whatever happens below
    started = len(_spawned)
    with ThreadPoolExecutor() as pool:
        starts = {
            "acme": pool.submit(_acme_chain, services, nginx),
            "postgres": pool.submit(start_postgres, services / "postgres"),
            "mariadb": pool.submit(start_mariadb, services / "mariadb"),
            "s3": pool.submit(start_seaweedfs, services / "seaweedfs"),
        }
    failures = [start.exception() for start in starts.values() if start.exception()]
    facts: dict[str, dict[str, object]] = {}
    for name, start in starts.items():
        if not start.exception():
            facts.update(start.result() if name == "acme" else {name: start.result()})
    (services / "services.json").write_text(json.dumps(facts))
    (services / "services.json").chmod(0o600)
    if failures:  # nothing is left running: what started (as listed), then what a failed chain had started
        down(root)
        for pid in _spawned[started:]:
            stop(pid)
        raise failures[0]
    double_backing(root, "postgres", facts["postgres"])
    double_backing(root, "mysql", facts["mariadb"])
    return facts


def load(root: Path) -> dict[str, dict[str, object]]:
    path = root / "services" / "services.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _alive(pid: int) -> bool:
    """Running: a zombie has stopped (it holds no ports), though it stays until its parent reaps it, which not
    every init does."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def group_running(pgid: int) -> bool:
    """Whether any process of the group is still running. A zombie has ended: it only waits to be reaped, by the init
    when its parent was killed too, which a busy machine may delay."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def stop(pid: int) -> None:
    """SIGTERM to the server's process group, SIGKILL to what is still running of it 2 s later (SeaweedFS's
    master outlives a SIGTERM of its own process); back once nothing of it runs."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(100):
            if not group_running(pid):
                return
            time.sleep(0.02)


def down(root: Path) -> None:
    for facts in load(root).values():
        for key in ("pid", "blackbox_pid"):
            if key in facts:
                stop(int(facts[key]))  # type: ignore[call-overload]
        for path in facts.get("sockets", []):  # type: ignore[attr-defined]
            Path(path).unlink(missing_ok=True)
    (root / "services" / "services.json").unlink(missing_ok=True)


def nginx_down(root: Path) -> None:
    facts = load_nginx(root)
    if facts:
        stop(int(facts["pid"]))  # type: ignore[call-overload]
    (root / "services" / "nginx.json").unlink(missing_ok=True)
    (root / "var" / "lib" / "dokku" / "data" / "nginx-vhosts" / "sandbox.json").unlink(missing_ok=True)


def admin_settings(facts: dict[str, dict[str, object]], challenge: str = "dns-01") -> list[tuple[str, str]]:
    """The `ansible-deploy:set --global` settings that point a sandbox at these servers (the secret comes apart)."""
    bind, pebble = facts["bind"], facts["pebble"]
    return [
        ("dns-server", "127.0.0.1"),
        ("dns-port", str(bind["port"])),
        ("dns-zones", str(bind["zone"])),
        ("dns-tsig-key-name", str(bind["key_name"])),
        ("dns-target-ipv4", "127.0.0.1"),
        ("dns-ttl", "60"),
        ("acme-directory", str(pebble["directory"])),
        ("acme-email", "admin@example.test"),
        ("acme-ca-file", str(pebble["ca_file"])),
        ("acme-challenge", challenge),
        ("healthcheck-ca-file", str(Path(str(pebble["ca_file"])).with_name("root.pem"))),
        ("monitoring-targets-dir", f"{facts['prometheus']['folder']}/targets"),
        ("monitoring-rules-dir", f"{facts['prometheus']['folder']}/rules"),
        ("monitoring-textfile-dir", f"{facts['prometheus']['folder']}/textfile"),
        ("monitoring-probe-through", "nginx"),
        ("database-backend", "server"),
        ("postgres-host", "127.0.0.1"),
        ("postgres-port", str(facts["postgres"]["port"])),
        ("postgres-admin-user", str(facts["postgres"]["user"])),
        ("postgres-admin-password-file", str(facts["postgres"]["password_file"])),
        ("mysql-host", "127.0.0.1"),
        ("mysql-port", str(facts["mariadb"]["port"])),
        ("mysql-admin-user", str(facts["mariadb"]["user"])),
        ("mysql-admin-password-file", str(facts["mariadb"]["password_file"])),
        ("backup-repository", f"s3:{facts['s3']['endpoint']}/{facts['s3']['bucket']}/sandbox"),
    ]


def admin_secrets(facts: dict[str, dict[str, object]]) -> list[tuple[str, str]]:
    """The secret settings that go with admin_settings, to be set from stdin."""
    s3 = facts["s3"]
    return [
        ("dns-tsig-secret", str(facts["bind"]["secret"])),
        ("backup-repository-password", Path(str(s3["repository_password"])).read_text()),
        ("backup-s3-access-key-id", Path(str(s3["access_key_id"])).read_text()),
        ("backup-s3-secret-access-key", Path(str(s3["secret_access_key"])).read_text()),
    ]
