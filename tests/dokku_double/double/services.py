"""postgres:* and mysql:* (the dokku-postgres and dokku-mysql service plugins), each service a real database.

Dokku runs every service in a container of its own. The double keeps the plugins' layout under
$DOKKU_LIB_ROOT/services/ENGINE/NAME (PASSWORD, LINKS) and backs each service with a database and a user of
the same name on one real server, named in $DOKKU_LIB_ROOT/services/ENGINE/.double-server.json
({host, port, user, password}) by the sandbox or the tests. Commands fail clearly when that file is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

from double import config
from double.env import Env, Fail, info1, info1_quiet, info2_quiet, quietly, verbose_quiet

NAME = re.compile(r"^[A-Za-z0-9_-]+$")
ENGINES = {
    "postgres": {"title": "Postgres", "scheme": "postgres", "port": 5432},
    "mysql": {"title": "Mysql", "scheme": "mysql", "port": 3306},
}


class Service:
    def __init__(self, env: Env, engine: str, name: str) -> None:
        self.env, self.engine, self.name = env, engine, name
        self.title = ENGINES[engine]["title"]
        self.root = env.lib_root / "services" / engine
        self.dir = self.root / name

    def exists(self) -> bool:
        return bool(NAME.match(self.name)) and (self.dir / "PASSWORD").exists()

    def verify(self) -> Service:
        if not self.name:
            raise Fail("Please specify a valid name for the service. Valid characters are: [A-Za-z0-9_]+")
        if not self.exists():
            raise Fail(f"{self.title} service {self.name} does not exist")
        return self

    @property
    def password(self) -> str:
        return (self.dir / "PASSWORD").read_text().strip()

    @property
    def links(self) -> list[str]:
        path = self.dir / "LINKS"
        return [line for line in path.read_text().splitlines() if line] if path.exists() else []

    def set_links(self, apps: list[str]) -> None:
        (self.dir / "LINKS").write_text("".join(f"{a}\n" for a in sorted(set(apps))))

    def backing(self) -> dict[str, str]:
        path = self.root / ".double-server.json"
        if not path.exists():
            raise Fail(f"the test double has no {self.engine} server to back services with ({path})")
        return json.loads(path.read_text())

    @property
    def hostname(self) -> str:
        return f"dokku-{self.engine}-{self.name.replace('.', '-').replace('_', '-')}"

    def dsn(self) -> str:
        """Dokku's URL, with the backing server's port (the container's would be the engine's default)."""
        scheme = ENGINES[self.engine]["scheme"]
        return f"{scheme}://{self.name}:{self.password}@{self.hostname}:{self.backing()['port']}/{self.name}"

    # --- the backing server, through the engine's own client tools (password in the environment, never argv)
    def client(self, tool: str, *args: str, user: str = "", password: str = "", **kwargs: object):
        server = self.backing()
        user, password = user or server["user"], password or server["password"]
        if self.engine == "postgres":
            argv = [tool, "-h", server["host"], "-p", str(server["port"]), "-U", user, "-w", *args]
            environ = {**os.environ, "PGPASSWORD": password}
        else:
            argv = [tool, "-h", server["host"], "-P", str(server["port"]), "-u", user, *args]
            environ = {**os.environ, "MYSQL_PWD": password}
        return subprocess.run(argv, env=environ, check=False, **kwargs)  # type: ignore[call-overload]

    def admin_sql(self, sql: str) -> None:
        tool, db = (
            ("psql", ["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q"])
            if self.engine == "postgres"
            else (
                "mariadb",
                [],
            )
        )
        done = self.client(tool, *db, input=sql, capture_output=True, text=True)
        if done.returncode:
            raise Fail(f"{self.title} service {self.name}: {done.stderr.strip()}")

    def create_database(self, password: str) -> None:
        if self.engine == "postgres":
            self.admin_sql(f"CREATE ROLE \"{self.name}\" LOGIN PASSWORD '{password}';")
            self.admin_sql(f'CREATE DATABASE "{self.name}" OWNER "{self.name}";')
        else:
            self.admin_sql(
                f"CREATE DATABASE `{self.name}`; CREATE USER '{self.name}'@'%' IDENTIFIED BY '{password}';"
                f" GRANT ALL ON `{self.name}`.* TO '{self.name}'@'%';"
            )

    def drop_database(self) -> None:
        if self.engine == "postgres":
            self.admin_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE); DROP ROLE IF EXISTS "{self.name}";')
        else:
            self.admin_sql(f"DROP DATABASE IF EXISTS `{self.name}`; DROP USER IF EXISTS '{self.name}'@'%';")


def _service(env: Env, engine: str, args: list[str]) -> Service:
    return Service(env, engine, args[0] if args else "")


def cmd_create(env: Env, engine: str, args: list[str]) -> int:
    service = _service(env, engine, args)
    if not NAME.match(service.name):
        raise Fail("Please specify a valid name for the service. Valid characters are: [A-Za-z0-9_]+")
    if service.exists():
        raise Fail(f"{service.title} service {service.name} already exists")
    import secrets  # here, not at the top: it brings hashlib and hmac into every dokku call

    password = secrets.token_hex(16)
    service.create_database(password)
    service.dir.mkdir(parents=True)
    (service.dir / "PASSWORD").write_text(password)
    (service.dir / "PASSWORD").chmod(0o640)
    service.set_links([])
    info1("Starting container")
    info2_quiet(f"{service.title} container created: {service.name}")
    return 0


def cmd_exists(env: Env, engine: str, args: list[str]) -> int:
    service = _service(env, engine, args).verify()
    info1_quiet(f"Service {service.name} exists")
    return 0


def _service_and_app(env: Env, engine: str, args: list[str]) -> tuple[Service, str]:
    names = [a for a in args if not a.startswith("-")]
    service = _service(env, engine, names).verify()
    app = env.verify_app(names[1] if len(names) > 1 else None)
    return service, app


def _restart_flags() -> list[str]:
    """dokku-postgres common-functions service_link/service_unlink: `--no-restart` counts only when it is in
    DOKKU_GLOBAL_FLAGS (the outermost command's flags) or SERVICE_RESTART_APPS is false."""
    if "--no-restart" in os.environ.get("DOKKU_GLOBAL_FLAGS", "") or os.environ.get("SERVICE_RESTART_APPS") == "false":
        return ["--no-restart"]
    return []


def _config_keys_with(env: Env, app: str, dsn: str) -> list[str]:
    """dokku-postgres common-functions service_is_linked, service_link, service_unlink: a service is linked to an
    app when the app's config holds the service's URL (`config_all APP | grep SERVICE_URL`), whatever LINKS says:
    a clone's copied DATABASE_URL makes it linked, an unset one makes it not."""
    return [key for key, value in config.read(env, app).items() if dsn in value]


def cmd_linked(env: Env, engine: str, args: list[str]) -> int:
    service, app = _service_and_app(env, engine, args)
    if not _config_keys_with(env, app, service.dsn()):
        raise Fail(f"Service {service.name} is not linked to {app}")
    info1_quiet(f"Service {service.name} is linked to {app}")
    return 0


def cmd_link(env: Env, engine: str, args: list[str]) -> int:
    service, app = _service_and_app(env, engine, args)
    values = config.read(env, app)
    taken = _config_keys_with(env, app, service.dsn())
    if taken:
        raise Fail(f"Already linked as {taken[0]}")
    key = "DATABASE_URL" if "DATABASE_URL" not in values else f"DOKKU_{engine.upper()}_AQUA_URL"
    service.set_links([*service.links, app])
    info1("Setting config vars")
    flags = _restart_flags()
    with quietly():
        config.cmd_set(env, [*flags, app, f"{key}={service.dsn()}"])
    return 0


def cmd_unlink(env: Env, engine: str, args: list[str]) -> int:
    """dokku-postgres common-functions service_unlink: the app leaves LINKS first, then the command fails when no
    config key holds the service's URL, else unsets them all."""
    service, app = _service_and_app(env, engine, args)
    service.set_links([a for a in service.links if a != app])
    keys = _config_keys_with(env, app, service.dsn())
    if not keys:
        raise Fail(f"Not linked to app {app}")
    flags = _restart_flags()
    with quietly():
        config.cmd_unset(env, [*flags, app, *keys])
    return 0


def cmd_app_links(env: Env, engine: str, args: list[str]) -> int:
    """dokku-postgres common-functions service_app_links: every service whose LINKS names the app, one a line."""
    app = env.verify_app(args[0] if args else None)
    root = env.lib_root / "services" / engine
    for path in sorted(root.glob("*/LINKS")) if root.is_dir() else []:
        if app in Service(env, engine, path.parent.name).links:
            print(path.parent.name)
    return 0


def cmd_info(env: Env, engine: str, args: list[str]) -> int:
    service = _service(env, engine, [a for a in args if not a.startswith("--")]).verify()
    facts = {
        "--config-dir": str(service.dir / "config"),
        "--data-dir": str(service.dir / "data"),
        "--dsn": service.dsn(),
        "--exposed-ports": "-",
        "--id": service.name,
        "--internal-ip": service.backing()["host"],
        "--links": " ".join(service.links) or "-",
        "--service-root": str(service.dir),
        "--status": "running",
        "--version": f"{engine}:double",
    }
    flags = [a for a in args if a.startswith("--")]
    if flags:
        if flags[0] not in facts:
            raise Fail(f"Invalid flag passed, valid flags: {', '.join(facts)}")
        print(facts[flags[0]])
        return 0
    info2_quiet(f"{service.name} {engine} service information")
    for flag, value in facts.items():
        verbose_quiet(f"{flag.removeprefix('--').replace('-', ' ').capitalize() + ':':<20} {value:<25}")
    return 0


def cmd_export(env: Env, engine: str, args: list[str]) -> int:
    """The service's data on stdout: `pg_dump -Fc --no-acl --no-owner` or `mysqldump`, as the plugins run them."""
    service = _service(env, engine, args).verify()
    if engine == "postgres":
        done = service.client("pg_dump", "-Fc", "--no-acl", "--no-owner", "-d", service.name, stdout=sys.stdout.buffer)
    else:
        done = service.client("mariadb-dump", "--single-transaction", "--quick", service.name, stdout=sys.stdout.buffer)
    if done.returncode:
        raise Fail(f"Export of {service.name} failed")
    return 0


def cmd_import(env: Env, engine: str, args: list[str]) -> int:
    """Restores stdin into the service (`pg_restore -cO --if-exists`, or the mysql client)."""
    service = _service(env, engine, args).verify()
    if sys.stdin.isatty():
        raise Fail("No data provided on stdin.")
    user = {"user": service.name, "password": service.password}
    if engine == "postgres":
        done = service.client("pg_restore", "-cO", "--if-exists", "-d", service.name, stdin=sys.stdin.buffer, **user)
    else:
        done = service.client("mariadb", service.name, stdin=sys.stdin.buffer, **user)
    if done.returncode:
        raise Fail(f"Import into {service.name} failed")
    return 0


def cmd_destroy(env: Env, engine: str, args: list[str]) -> int:
    names = [a for a in args if not a.startswith("-")]
    service = _service(env, engine, names).verify()
    if service.links:
        raise Fail("Cannot delete linked service")
    if "-f" not in args and "--force" not in args and os.environ.get("DOKKU_APPS_FORCE_DELETE") != "1":
        answer = sys.stdin.readline().strip()
        if answer != service.name:
            raise Fail(f"Confirmation did not match {service.name}. Aborted.")
    info1(f"Deleting {service.name}")
    service.drop_database()
    shutil.rmtree(service.dir)
    info2_quiet(f"{service.title} container deleted: {service.name}")
    return 0


def cmd_list(env: Env, engine: str, args: list[str]) -> int:
    del args
    root = env.lib_root / "services" / engine
    names = sorted(p.name for p in root.iterdir() if (p / "PASSWORD").exists()) if root.is_dir() else []
    info2_quiet(f"{ENGINES[engine]['title']} services")
    for name in names:
        print(name)
    return 0


def forget_app(env: Env, app: str) -> None:
    """The plugins' pre-delete: the app leaves every service's links (the service and its data stay)."""
    for links in (env.lib_root / "services").glob("*/*/LINKS"):
        apps = [line for line in links.read_text().splitlines() if line and line != app]
        links.write_text("".join(f"{a}\n" for a in apps))


def add_to_links(env: Env, old: str, new: str) -> None:
    """The service plugins' post-app-rename-setup and post-app-clone-setup: the new app joins every service the old
    one is linked to (its DATABASE_URL came along with the config); a rename's destroy of the old name then drops
    the old one."""
    for links in (env.lib_root / "services").glob("*/*/LINKS"):
        apps = [line for line in links.read_text().splitlines() if line]
        if old in apps:
            links.write_text("".join(f"{a}\n" for a in sorted({*apps, new})))


VERBS = {
    "create": cmd_create,
    "exists": cmd_exists,
    "link": cmd_link,
    "linked": cmd_linked,
    "app-links": cmd_app_links,
    "unlink": cmd_unlink,
    "info": cmd_info,
    "export": cmd_export,
    "import": cmd_import,
    "destroy": cmd_destroy,
    "list": cmd_list,
}
COMMANDS = {
    f"{engine}:{verb}": (lambda env, args, engine=engine, fn=fn: fn(env, engine, args))
    for engine in ENGINES
    for verb, fn in VERBS.items()
}
