"""What an app has in Dokku before the plugin first provisions it: domains and port maps a first push would drop.

The domains role sets env.yml's domains and the ports role the port map its `port` makes, so that later pushes
remove what a packager removed. On an app the plugin never provisioned, what those would remove is the admin's: a
domain added with `domains:add`, a mapping from `ports:add`. Such a push is refused before anything changes,
naming each and the command that removes it (or, for a domain, the line that keeps it). Settings need no refusal:
a first push sets only env.yml's keys (`run --check` shows each whose value changes) and never unsets another.
"""

from __future__ import annotations

from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.packaging import Packaging
from ansible_dokku_deploy.staging import Staging
from ansible_dokku_deploy.state import Phase, State

IP = r"^[0-9.]+$|:"  # the global vhosts Dokku's get_default_vhosts skips (IPv4, IPv6)


def check(dokku: Dokku, app: str, phase: Phase, packaging: Packaging, state: State, *, https: bool) -> None:
    """Before the first pre-deploy of an app: refuse when its domains or port map would lose an entry the admin
    made. https: whether the port map the push makes has https:443 (a certificate is or will be served)."""
    if phase != Phase.PRE_DEPLOY or _provisioned(dokku, app, state):
        return
    spec = packaging.spec
    problems: list[str] = []
    hints: list[str] = []
    if "domains" in spec:
        extra = [d for d in _domains(dokku, app) if d not in spec["domains"] and d not in _default_domains(dokku, app)]
        if extra:
            problems.append(f"{app} has domains env.yml does not list: {' '.join(extra)}")
            hints.append(
                f"Keep them: add them to env.yml's domains. Drop them: dokku domains:remove {app} {' '.join(extra)}"
            )
    if "port" in spec:
        port = spec["port"]
        made = {f"http:80:{port}", *([f"https:443:{port}"] if https else [])}
        extra = [m for m in dokku.read("ports:report", app, "--ports-map").split() if m not in made]
        if extra:
            problems.append(f"{app}'s port map has {' '.join(extra)}, which env.yml's port {port} does not make")
            hints.append(f"Drop them: dokku ports:remove {app} {' '.join(extra)}")
    if problems:
        raise DeployError(
            "; ".join(problems) + ": the first push would remove them, so nothing was changed",
            where="env.yml",
            hint=" ".join(hints) + " Then push again.",
        )


def _provisioned(dokku: Dokku, app: str, state: State) -> bool:
    """Whether the plugin has provisioned the app before: a pre-deploy run ended (succeeded or failed: from then on
    the domains and port map are the plugin's), or a release served it (a killed run clears the phases)."""
    return Phase.PRE_DEPLOY in state.phases or bool(Staging(dokku.data_dir(app)).deployed())


def _domains(dokku: Dokku, app: str) -> list[str]:
    """The app's domains as Dokku keeps them ($DOKKU_ROOT/APP/VHOST, see Dokku.vhosts)."""
    try:
        return (dokku.app_dir(app) / "VHOST").read_bytes().decode(errors="replace").split()
    except OSError:
        return []


def _default_domains(dokku: Dokku, app: str) -> set[str]:
    """The domains Dokku gave the app at apps:create (plugins/domains/functions get_default_vhosts): APP.VHOST for
    each global domain that is not an address, or the app's name when it has a dot."""
    import re  # noqa: PLC0415

    try:
        globals_ = (dokku.root / "VHOST").read_text().split()
    except OSError:
        return set()
    names = [g for g in globals_ if not re.search(IP, g)]
    return {app if "." in app else f"{app}.{g}" for g in names}
