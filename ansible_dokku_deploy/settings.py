"""The `ansible-deploy:set` keys, one registry, over Dokku's property store (one 0600 file per key)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError

GLOBAL = "--global"


@dataclass(frozen=True)
class Setting:
    key: str
    description: str
    default: str = ""
    kind: str = "str"  # str, int or bool
    secret: bool = False  # masked in every output from the moment it is read or set, and in the report
    secret_file: bool = False  # the file it names holds a secret (the path itself is none)
    per_app: bool = True
    minimum: int = 0
    choices: tuple[str, ...] = ()
    plans: bool = True  # checks or plans read it, so a change re-runs the phases (False: only how a run goes)

    def parse(self, value: str) -> str:
        """The stored form of value, or a DeployError saying what is expected."""
        if self.secret and output.too_short_to_mask(value):
            raise DeployError(
                f"{self.key} is a secret of at least {output.MIN_SECRET_LENGTH} characters: a shorter one could not "
                "be masked in output",
                hint="Give a longer one.",
            )
        if self.kind == "int":
            if not value.isdigit() or int(value) < self.minimum:
                raise DeployError(f"{self.key} expects a whole number of at least {self.minimum}, not {value!r}")
            return str(int(value))
        allowed = ("true", "false") if self.kind == "bool" else self.choices
        if allowed and value not in allowed:
            raise DeployError(f"{self.key} expects {' or '.join(allowed)}, not {value!r}")
        return value


# What allowing custom steps really grants: in the setting's description, and said by `:set` when it is turned on.
CUSTOM_STEPS_GRANT = (
    "a step runs as the `dokku` user, which is root-equivalent (it is in the docker group), with its run's variables "
    "(the server secrets the run's roles use: the DNS TSIG key, the database admin login) and every file `dokku` can "
    "read (every app's settings and secrets, the backup repository's keys), so allowing steps gives whoever can "
    "push to the app root on the server and its secrets"
)


def _server_backend(engine: str, server: str, port: str, *, admin: str, kind: str) -> tuple[Setting, ...]:
    """The four settings of one engine's server for the server backend, alike for both engines; kind is what its
    admin creates besides databases (roles, users)."""
    return (
        Setting(f"{engine}-host", f"{server} server of the server backend", per_app=False),
        Setting(f"{engine}-port", "Its port", port, "int", per_app=False, minimum=1),
        Setting(f"{engine}-admin-user", f"Its admin {kind}, which creates databases and {kind}s", admin, per_app=False),
        Setting(
            f"{engine}-admin-password-file",
            f"File holding that {kind}'s password, readable by `dokku` (mode 0600)",
            secret_file=True,
            per_app=False,
        ),
    )


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("keep-runs", "Run records and logs kept per app", "20", "int", minimum=1, plans=False),
        Setting(
            "keep-releases",
            "Staged packaging releases kept per app (at least 2: the staged one and the previous one), and releases "
            "that served kept for rollback",
            "5",
            "int",
            minimum=2,
            plans=False,
        ),
        Setting("lock-timeout", "Seconds a run waits for another run of the same app", "600", "int", plans=False),
        Setting("verbosity", "Ansible verbosity (0-4) in the run logs", "0", "int", plans=False),
        Setting(
            "ansible-strategy",
            "How Ansible runs the plugin's tasks: `mitogen` runs a whole run in one Python over a pipe, about twice "
            "as fast (Mitogen's strategy, without its CPU pinning: the tasks' programs may use every CPU); "
            "`linear` is Ansible's own, a process per task, for when Mitogen misbehaves (ansible-core does "
            "not promise third-party strategies work: docs/benchmark.md)",
            "mitogen",
            choices=("mitogen", "linear"),
            per_app=False,
            plans=False,
        ),
        Setting("environment", "Which of `env.yml`'s `environments` the app runs (empty: the base)"),
        Setting(
            "vault-password",
            "Password of the app's `vault/` files (`ansible-deploy:vault-password` sets it too)",
            secret=True,
        ),
        Setting(
            "allow-custom-steps",
            f"Run the packager's own playbooks (`steps` in env.yml) on the host; {CUSTOM_STEPS_GRANT}",
            "false",
            "bool",
        ),
        Setting("healthcheck-address", "Address of the server's nginx the health check goes through", "127.0.0.1"),
        Setting("healthcheck-http-port", "Its HTTP port", "80", "int", minimum=1),
        Setting("healthcheck-https-port", "Its HTTPS port", "443", "int", minimum=1),
        Setting(
            "healthcheck-timeout",
            "Seconds a deploy waits for the health path to answer 2xx",
            "60",
            "int",
            minimum=1,
            plans=False,
        ),
        Setting(
            "healthcheck-ca-file",
            "CA bundle trusted for the app's HTTPS in the health check (empty: the system's)",
            plans=False,
        ),
        Setting(
            "nginx-pid-file",
            "nginx's pid file: the route check waits until nginx's workers serve the new release",
            "/run/nginx.pid",
            per_app=False,
            plans=False,
        ),
        Setting(
            "monitoring-targets-dir",
            "Folder of Prometheus file_sd target files, writable by `dokku` (empty: no targets)",
            per_app=False,
        ),
        Setting(
            "monitoring-rules-dir",
            "Folder of Prometheus rule files, writable by `dokku` (empty: no alert rules)",
            per_app=False,
        ),
        Setting(
            "monitoring-textfile-dir",
            "node_exporter textfile collector folder, writable by `dokku` (empty: no metrics)",
            per_app=False,
        ),
        Setting(
            "monitoring-probe-through",
            "`domain` (probe the public URL) or `nginx` (probe through `healthcheck-address`, the domain as Host and "
            "TLS name)",
            "domain",
            choices=("domain", "nginx"),
        ),
        Setting("monitoring-cert-days", "Alert when a certificate has fewer days left", "14", "int", minimum=1),
        Setting("dns-server", "DNS server that takes RFC 2136 updates: an IP address", per_app=False),
        Setting("dns-port", "Its port", "53", "int", per_app=False, minimum=1),
        Setting(
            "dns-zones",
            "Zones the plugin may change, space-separated; a domain outside them is refused at validation",
            per_app=False,
        ),
        Setting(
            "allow-zone-apex",
            "Let the app's domains include a zone's own name (`example.com` for the zone `example.com`), whose A/AAAA "
            "records the plugin then replaces and removes",
            "false",
            "bool",
        ),
        Setting("dns-tsig-key-name", "Name of the TSIG key that signs the updates", per_app=False),
        Setting("dns-tsig-algorithm", "Its algorithm", "hmac-sha256", per_app=False),
        Setting("dns-tsig-secret", "Its secret, base64", secret=True, per_app=False),
        Setting("dns-target-ipv4", "Address the apps' A records point at"),
        Setting("dns-target-ipv6", "Address the apps' AAAA records point at (empty: no AAAA records)"),
        Setting("dns-ttl", "TTL of the records, in seconds", "300", "int", minimum=1),
        Setting(
            "acme-directory",
            "ACME directory URL, e.g. `https://acme-v02.api.letsencrypt.org/directory` (empty: no certificates)",
            per_app=False,
        ),
        Setting("acme-email", "Contact address of the server's ACME account", per_app=False),
        Setting(
            "acme-challenge",
            "How the CA checks the domains: `http-01` (through the app's nginx) or `dns-01` (through the DNS settings)",
            "http-01",
            choices=("http-01", "dns-01"),
        ),
        Setting(
            "acme-ca-file", "CA bundle trusted for the ACME server's own HTTPS (empty: the system's)", per_app=False
        ),
        Setting("acme-renew-days", "Renew a certificate this many days before it expires", "30", "int", minimum=1),
        Setting(
            "acme-timeout",
            "Seconds one ACME step (the account, the order, its validation) may take, the CA modules' retries "
            "included, before the run fails",
            "120",
            "int",
            minimum=10,
        ),
        Setting(
            "database-backend",
            "Where app databases live: `dokku-service` (the dokku-postgres / dokku-mysql plugins) or `server` (the "
            "admin's PostgreSQL/MariaDB server below). Fixed per app at its first provisioning",
            "dokku-service",
            choices=("dokku-service", "server"),
        ),
        Setting(
            "database-purge-on-destroy",
            "`apps:destroy` drops the app's database and removes its backups",
            "false",
            "bool",
        ),
        Setting(
            "adopt-database",
            "Hand an existing database (server backend: and its role or user) or service of this name to the app at "
            "its first provisioning (read for the app only, never --global); otherwise one that exists is refused. "
            "Also adopts the database the app already has: a linked service, or the database its DATABASE_URL names "
            "on the admin's server (kept as it is: password and URL unchanged)",
        ),
        Setting(
            "adopt-storage",
            "Hand these existing storage entries (space-separated) to the app at its first provisioning (read for the "
            "app only), an entry already mounted on one of its storage paths included (`storage:list APP --format "
            "json` names it); otherwise one that exists, or a mount on such a path, is refused",
        ),
        Setting(
            "adopt-certificate",
            "Let the app's certificate from the ACME CA replace one it already serves (an admin's `certs:add`; read "
            "for the app only); otherwise a push with `tls: acme` is refused while one serves",
            "false",
            "bool",
        ),
        *_server_backend("postgres", "PostgreSQL", "5432", admin="postgres", kind="role"),
        *_server_backend("mysql", "MariaDB/MySQL", "3306", admin="root", kind="user"),
        Setting(
            "backup-dir",
            "Folder of the local restic repository (`.restic` in it), the default destination, writable by `dokku` "
            "(empty: `/var/lib/dokku/data/ansible/.backups`)",
            per_app=False,
        ),
        Setting(
            "backup-repository",
            "Where backups go instead: a restic repository, `s3:https://HOST/BUCKET/PREFIX`, `sftp:USER@HOST:PATH`, "
            "`rest:URL` or a folder",
            per_app=False,
        ),
        Setting(
            "backup-repository-password",
            "Its password; keep a copy off the server: without it no backup can be read",
            secret=True,
            per_app=False,
        ),
        Setting("backup-s3-access-key-id", "Access key of an `s3:` repository", secret=True, per_app=False),
        Setting("backup-s3-secret-access-key", "Its secret key", secret=True, per_app=False),
        Setting(
            "backup-repository-ca-file",
            "CA bundle trusted for the repository's HTTPS (empty: the system's)",
            per_app=False,
        ),
        Setting(
            "backup-timeout",
            "Seconds one restic command may take before it is stopped (restic retries a repository that stopped "
            "answering for long)",
            "3600",
            "int",
            per_app=False,
            minimum=10,
        ),
        Setting("backup-drill", "Run the restore drill after each scheduled backup", "true", "bool"),
        Setting(
            "notify-webhook-url",
            "Where run results are POSTed as JSON (a webhook URL often carries a token, so it is a secret)",
            secret=True,
            plans=False,
        ),
        Setting("notify-email-to", "Where run results are mailed, comma-separated (empty: no mail)", plans=False),
        Setting(
            "notify-on",
            "`failure` (failed runs only) or `always`",
            "failure",
            choices=("failure", "always"),
            plans=False,
        ),
        Setting("smtp-host", "SMTP server for notification mail", "127.0.0.1", per_app=False, plans=False),
        Setting("smtp-port", "Its port", "25", "int", per_app=False, minimum=1, plans=False),
        Setting(
            "smtp-from", "Sender address of notification mail", "ansible-deploy@localhost", per_app=False, plans=False
        ),
        Setting(
            "notify-timeout",
            "Seconds one notification may take before it is given up",
            "10",
            "int",
            minimum=1,
            plans=False,
        ),
    )
}


DATABASE_PASSWORD = "database-password"  # noqa: S105  # a key, not a password: the plugin keeps an app's own one here


def is_input(key: str) -> bool:
    """Whether the value is an input of checks and plans, and so of the skip key: every setting the registry does
    not mark `plans=False`, and the plugin's own (its database password)."""
    return key not in SETTINGS or SETTINGS[key].plans


def is_secret(key: str) -> bool:
    """Whether the registry declares the value secret (or it is the plugin's own database password)."""
    return key == DATABASE_PASSWORD or (key in SETTINGS and SETTINGS[key].secret)


def reference_table() -> str:
    """The README's table of the settings, generated from this registry (a test keeps the README's copy equal):
    a secret says how it is given, a server-wide one that it is set with --global."""
    rows = ["| key | meaning | default | set for |", "| --- | --- | --- | --- |"]
    for s in SETTINGS.values():
        meaning = s.description + (": `true` or `false`" if s.kind == "bool" else "")
        if s.secret:
            meaning += "; **secret**: given on stdin (`-`) or with `--from-file PATH`, never on the command line"
        rows.append(
            f"| `{s.key}` | {meaning} | `{s.default}` | {'an app or the server' if s.per_app else 'the server'} |"
        )
    return "\n".join(rows) + "\n"


def lookup(key: str) -> Setting:
    try:
        return SETTINGS[key]
    except KeyError:
        import difflib  # noqa: PLC0415  # only on the error path

        close = difflib.get_close_matches(key, SETTINGS, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise DeployError(
            f"Invalid key specified: {key}", hint=f"{hint}Valid keys include: {', '.join(sorted(SETTINGS))}"
        ) from None


_READ: dict[tuple[Path, str], dict[str, str]] = {}  # (Dokku's lib root, app): its values, as last read here


@dataclass(frozen=True)
class Store:
    """Property files at $DOKKU_LIB_ROOT/data/ansible/.settings/(APP|--global)/KEY, raw values without newline."""

    dokku: Dokku

    def path(self, app: str, key: str) -> Path:
        """The file that holds the value (0600, the dokku user's): restic reads a password from it."""
        return self.dokku.config_dir(app) / key

    def _values(self, app: str) -> dict[str, str]:
        """Every value set for app (or --global), read once per process: a report of many apps asks often."""
        values = _READ.get((self.dokku.lib_root, app))
        if values is None:
            folder = self.dokku.config_dir(app)
            try:
                entries = [e for e in os.scandir(folder) if e.is_file() and not e.name.startswith(".")]
            except FileNotFoundError:
                entries = []
            values = _READ[self.dokku.lib_root, app] = {e.name: Path(e.path).read_text() for e in entries}
            for key, value in values.items():  # masked because the registry says so, whoever reads it
                if is_secret(key):
                    output.register_secret(value)
        return values

    def get(self, app: str, key: str) -> str:
        return self._values(app).get(key, "")

    def put(self, app: str, key: str, value: str) -> None:
        if is_secret(key):
            output.register_secret(value)
        _READ.pop((self.dokku.lib_root, app), None)
        path = self.path(app, key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{key}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        tmp.replace(path)

    def delete(self, app: str, key: str) -> None:
        _READ.pop((self.dokku.lib_root, app), None)
        self.path(app, key).unlink(missing_ok=True)

    def named_file(self, app: str, key: str) -> str:
        """The content of the file a *-file setting names (stripped), masked when the setting says it is secret;
        OSError when it cannot be read, DeployError when a secret is too short to be masked."""
        path = self.get(app, key)
        content = Path(path).read_text().strip()
        if SETTINGS[key].secret_file and output.too_short_to_mask(content):
            raise DeployError(
                f"{key}: {path} holds a secret of fewer than {output.MIN_SECRET_LENGTH} characters, which could not "
                "be masked in output",
                hint="Use a longer password, and write it into that file.",
            )
        if SETTINGS[key].secret_file:
            output.register_secret(content)
        return content

    def computed(self, app: str, key: str) -> str:
        """App value, else global value, else the built-in default."""
        return self.get(app, key) or self.get(GLOBAL, key) or SETTINGS[key].default

    def computed_int(self, app: str, key: str) -> int:
        return int(self.computed(app, key))

    def fingerprint(self, app: str) -> str:
        """Every value the app's checks and plans can read: its settings and the global ones the registry says they
        read (`plans`), the plugin's own (a database password), and the content of the files they name (*-file
        keys, such as an admin password file). Equal fingerprints, equal inputs."""
        h = hashlib.sha256()
        for scope in (app, GLOBAL):
            for key, value in sorted(self._values(scope).items()):
                if not is_input(key):
                    continue
                h.update(f"{scope}\0{key}\0{value}\0".encode())
                if key.endswith("-file") and value:
                    try:
                        h.update(Path(value).read_bytes())
                    except OSError as exc:
                        h.update(f"unreadable: {exc.strerror}".encode())
                h.update(b"\0")
        return h.hexdigest()
