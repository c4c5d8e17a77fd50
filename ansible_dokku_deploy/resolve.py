"""The packaging as this server sees it: validated, vault decrypted, and the admin's rules applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError, PackagingError
from ansible_dokku_deploy.packaging import ENV_FILE, TREES, Packaging, source_key
from ansible_dokku_deploy.packaging.passed import Passed
from ansible_dokku_deploy.settings import Store
from ansible_dokku_deploy.staging import Release, Staging, secure_dir
from ansible_dokku_deploy.state import dns_names

# The checks import YAML, the schema and the vault's cipher: a push whose packaging is the staged one, under the
# same settings, skips them (check_push), so they are imported only when used.


@dataclass(frozen=True)
class Resolved:
    packaging: Packaging
    secrets: dict[str, str] = field(repr=False)


def _passed(dokku: Dokku, app: str) -> Passed:
    return Passed(secure_dir(dokku.data_dir(app)) / ".passed")


def packaging_for(dokku: Dokku, app: str, root: Path, *, check_nginx: bool = False) -> Packaging:
    """The packaging in the app's environment (the vault left encrypted)."""
    from ansible_dokku_deploy.packaging.validate import validate_tree  # noqa: PLC0415  # see above

    environment = Store(dokku).computed(app, "environment")
    return validate_tree(root, check_nginx=check_nginx, environment=environment, passed=_passed(dokku, app), app=app)


def staged_packaging(dokku: Dokku, app: str, release: Release) -> Packaging:
    """A staged release's packaging in the app's environment (the vault left encrypted): the env.yml parsed when
    it was staged, or, for a release an earlier plugin version staged without it, validated again."""
    if release.document:
        return release.packaging(Store(dokku).computed(app, "environment"))
    return packaging_for(dokku, app, release.path)


def resolve(dokku: Dokku, app: str, root: Path, *, check_nginx: bool = True, check_domains: bool = True) -> Resolved:
    """Everything a push is checked against on the server; PackagingError lists every problem. check_domains:
    whether the domains are checked against the other apps' (not for what leaves them alone: a backup, a
    destroy)."""
    from ansible_dokku_deploy.packaging.vault import decrypt  # noqa: PLC0415  # see above
    from ansible_dokku_deploy.server import dns_config  # noqa: PLC0415

    store = Store(dokku)
    packaging = packaging_for(dokku, app, root, check_nginx=check_nginx)
    problems: list[DeployError] = []
    domains = packaging.spec.get("domains", [])
    dns = dns_config(store, app)
    if dns is not None:
        problems.extend(dns.outside(domains))
    if check_domains:
        problems.extend(taken_domains(dokku, app, domains))
        if dns is not None and store.computed(app, "allow-zone-apex") != "true":
            problems.extend(dns.apexes(domains, app))
    secrets, vault_problems = decrypt(packaging, store.computed(app, "vault-password"), app)
    problems.extend(vault_problems)
    problems.extend(
        DeployError(f"env: {key} is also a vault setting", where="env.yml", hint="Keep a setting in one place only.")
        for key in sorted(set(secrets) & set(packaging.spec.get("env", {})))
    )
    if packaging.spec.get("steps") and store.computed(app, "allow-custom-steps") != "true":
        problems.append(
            DeployError(
                f"steps: custom steps run on the host, and are not allowed for {app}",
                where="env.yml",
                hint=f"The admin allows them with: dokku ansible-deploy:set {app} allow-custom-steps true",
            )
        )
    problems.extend(_k3s_problems(dokku, store, app, packaging))
    if problems:
        raise PackagingError(problems)
    return Resolved(packaging, secrets)


def refuse_beyond_k3s(dokku: Dokku, app: str, packaging: Packaging) -> None:
    """The push's k3s refusals for the deploys without a push (config:set, ps:restart), as the scheduler can be
    switched after the packaging was staged (scheduler:set APP selected k3s): before any phase, which might skip."""
    problems = _k3s_problems(dokku, Store(dokku), app, packaging)
    if problems:
        raise PackagingError(problems)


def _k3s_problems(dokku: Dokku, store: Store, app: str, packaging: Packaging) -> list[DeployError]:
    if dokku.scheduler(app) != "k3s":
        return []
    http_01 = bool(store.computed(app, "acme-directory")) and store.computed(app, "acme-challenge") == "http-01"
    return _beyond_k3s(app, packaging, http_01=http_01)


def taken_domains(dokku: Dokku, app: str, domains: list[str]) -> list[DeployError]:
    """The domains another app has: Dokku's domains of the app (its VHOST) or the DNS records the plugin keeps for
    it (its state.json). Dokku lets two apps share a domain, but the plugin would replace, and later delete, the
    other app's records and order certificates for its name. Names compare lowercase, without the trailing dot,
    and a wildcard (`*.example.com`, `.example.com`, `www.example.*`) covers what nginx would route to it."""
    if not domains:
        return []
    exact: dict[str, tuple[str, str, str]] = {}  # name: the same, the app that has it, and how
    wildcards: list[tuple[str, str, str]] = []  # pattern, the app, how
    for claims, how in ((dokku.vhosts(), "serves it (its Dokku domains)"), (dns_names(dokku), "has its DNS record")):
        for other, names in claims.items():
            for name in {_comparable(n) for n in names} if other != app else ():
                if "*" in name or name.startswith("."):
                    wildcards.append((name, other, how))
                else:
                    exact.setdefault(name, (name, other, how))
    problems = []
    for index, domain in enumerate(domains):
        name = _comparable(domain)
        found = exact.get(name) or next((w for w in wildcards if _covers(w[0], name)), None)
        if found is None:
            continue
        pattern, other, how = found
        problems.append(
            DeployError(
                f"{domain} is taken: the app {other} {how}",
                where="env.yml",
                key=f"domains[{index}]",
                hint=f"Dokku lets apps share a domain, but ansible-deploy would change {other}'s DNS records and "
                f"certificates. Use another name, or free this one first: dokku domains:remove {other} {pattern}, "
                f"then drop it from {other}'s env.yml and deploy {other}.",
            )
        )
    return problems


def _comparable(domain: str) -> str:
    """A domain as names compare: lowercase, without the root's trailing dot."""
    return domain.strip().rstrip(".").lower()


def _covers(pattern: str, name: str) -> bool:
    """Whether nginx would route the name to a server_name wildcard (its `*.`, `.` and `.*` forms)."""
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    if pattern.startswith("."):
        return name == pattern[1:] or name.endswith(pattern)
    if pattern.endswith(".*"):
        return name.startswith(pattern[:-1])
    return name == pattern


def _beyond_k3s(app: str, packaging: Packaging, *, http_01: bool) -> list[DeployError]:
    """What cannot work for an app on Dokku's k3s scheduler (docs/multi-server.md): its traffic goes through the
    cluster's ingress, not Dokku's nginx, and its volumes are the cluster's, not folders of this host."""
    features, problems = packaging.features, []
    not_routed = f"Dokku's nginx, which does not route {app}: its scheduler is k3s"
    if "nginx" in features:
        problems.append(
            DeployError(
                f"the snippets would go into {not_routed}",
                where="nginx.conf.d/",
                hint="Remove nginx.conf.d/ and set what it did as ingress annotations: "
                f"dokku scheduler-k3s:annotations:set {app} KEY VALUE --resource-type ingress",
            )
        )
    if "storage" in features:
        problems.append(
            DeployError(
                f"storage: the plugin's folders are on this host, which {app} cannot mount: its scheduler is k3s",
                where="env.yml",
                hint="Drop storage: and mount a volume of the cluster: dokku storage:create NAME --scheduler k3s "
                f"--size 1Gi, then dokku storage:mount {app} NAME --container-dir PATH",
            )
        )
    if "tls" in features and http_01:
        problems.append(
            DeployError(
                f"tls: acme answers the CA's http-01 challenge through {not_routed}",
                where="env.yml",
                hint="Set tls: none and let k3s get certificates (dokku scheduler-k3s:set --global "
                "letsencrypt-email-prod EMAIL), or ask the admin for dns-01 (ansible-deploy:set --global "
                "acme-challenge dns-01)",
            )
        )
    if "healthcheck" in packaging.spec.get("monitoring", {}):
        problems.append(
            DeployError(
                f"monitoring.healthcheck: the plugin checks a release through {not_routed}",
                where="env.yml",
                hint="Drop it and give the check to Kubernetes: app.json healthchecks become its readiness probes",
            )
        )
    return problems


def without_packaging(root: Path) -> bool:
    """Whether a pushed tree holds no packaging file at all: no env.yml and none of its folders (the context
    `git:from-image` builds, of only a generated Dockerfile, or a BUILD_DIR without them)."""
    return not any((root / name).is_symlink() or (root / name).exists() for name in (ENV_FILE, *TREES))


def check_push(dokku: Dokku, app: str, root: Path) -> tuple[str, Packaging | None]:
    """The pushed tree's source_key, and its packaging after every check; None instead when the tree is the staged
    release's, byte for byte, and passed every check under the settings of now (a code-only push): the answer
    would be the same. A tree without any packaging file, once a release is staged, stands for the staged
    release's files (the packaging stays; see without_packaging). PackagingError lists every problem."""
    staged = Staging(dokku.data_dir(app)).current()
    if staged is not None and without_packaging(root):
        root = staged.path  # checked again, under the settings of now, unless it passed them already
        key = staged.source
    else:
        key = source_key(root)
    mark = f"{key}\0{Store(dokku).fingerprint(app)}\0{dokku.scheduler(app)}".encode()
    if staged is not None and staged.source == key and _passed(dokku, app).seen("push", mark):
        return key, None
    packaging = resolve(dokku, app, root).packaging
    _passed(dokku, app).remember("push", mark)
    return key, packaging
