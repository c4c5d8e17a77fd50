"""The server side an admin configures: DNS updates (RFC 2136 with TSIG) and the ACME CA."""

from __future__ import annotations

from dataclasses import dataclass

from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.settings import Store


@dataclass(frozen=True)
class Dns:
    server: str
    port: int
    zones: tuple[str, ...]
    key_name: str
    algorithm: str
    secret: str
    ipv4: str
    ipv6: str
    ttl: int

    def zone_of(self, domain: str) -> str | None:
        """The longest configured zone that contains domain."""
        matches = [z for z in self.zones if domain == z or domain.endswith(f".{z}")]
        return max(matches, key=len) if matches else None

    def apexes(self, domains: list[str], app: str) -> list[DeployError]:
        """A zone's own name among the domains: its address is the zone's (often its web site, beside its mail and
        other services), not an app's to replace, unless the admin says so."""
        return [
            DeployError(
                f"{domain} is the apex of the DNS zone {domain}, whose records this server does not give to an app "
                "unless the admin allows it",
                where="env.yml",
                key=f"domains[{index}]",
                hint=f"Use a name inside the zone (www.{domain}), or the admin allows it: "
                f"dokku ansible-deploy:set {app} allow-zone-apex true",
            )
            for index, domain in enumerate(domains)
            if domain in self.zones
        ]

    def outside(self, domains: list[str]) -> list[DeployError]:
        zones = " ".join(self.zones)
        return [
            DeployError(
                f"domains: {domain} is outside the DNS zones this server manages ({zones})",
                where="env.yml",
                hint=f"Use a name in one of those zones, or ask the admin to add its zone: "
                f"dokku ansible-deploy:set --global dns-zones '{zones} <zone>'",
            )
            for domain in domains
            if self.zone_of(domain) is None
        ]


@dataclass(frozen=True)
class Acme:
    directory: str
    email: str
    challenge: str
    ca_file: str
    renew_days: int
    timeout: int  # seconds per ACME step: the modules retry a silent or refusing CA for minutes


def dns_config(store: Store, app: str) -> Dns | None:
    """The DNS settings, or None when the server has none (then the plugin touches no DNS)."""

    def get(key: str) -> str:
        return store.computed(app, key)

    required = ("dns-server", "dns-zones", "dns-tsig-key-name", "dns-tsig-secret", "dns-target-ipv4")
    if not all(get(key) for key in required):
        return None
    secret = get("dns-tsig-secret")  # masked: the registry declares it secret
    return Dns(
        server=get("dns-server"),
        port=int(get("dns-port")),
        zones=tuple(z.strip(".").lower() for z in get("dns-zones").split()),
        key_name=get("dns-tsig-key-name"),
        algorithm=get("dns-tsig-algorithm"),
        secret=secret,
        ipv4=get("dns-target-ipv4"),
        ipv6=get("dns-target-ipv6"),
        ttl=int(get("dns-ttl")),
    )


def acme_config(store: Store, app: str) -> Acme | None:
    """The ACME settings, or None when no directory is configured (then no certificates)."""
    directory = store.computed(app, "acme-directory")
    if not directory:
        return None
    return Acme(
        directory=directory,
        email=store.computed(app, "acme-email"),
        challenge=store.computed(app, "acme-challenge"),
        ca_file=store.computed(app, "acme-ca-file"),
        renew_days=int(store.computed(app, "acme-renew-days")),
        timeout=int(store.computed(app, "acme-timeout")),
    )
