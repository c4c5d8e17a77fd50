"""Certificates an app has before the plugin gives it one: dokku-letsencrypt's, or the admin's own (certs:add).

Either is kept: a push whose env.yml asks for a certificate from the ACME CA is refused, naming the certificate and
the command that hands it over, before anything changes. The plugin's own certificate is the one it keeps in the
app's data folder (the tls role's `tls/server.crt`): an app that has one has had its certificate from the plugin.
"""

from __future__ import annotations

from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.packaging import Packaging
from ansible_dokku_deploy.server import acme_config
from ansible_dokku_deploy.settings import Store
from ansible_dokku_deploy.state import Phase

ADOPT = "adopt-certificate"


def _wanted(dokku: Dokku, app: str, packaging: Packaging) -> bool:
    """Whether the app's packaging asks the plugin for a certificate (as planning decides the tls role)."""
    spec = packaging.spec
    return "tls" in packaging.features and bool(spec.get("domains")) and acme_config(Store(dokku), app) is not None


def https(dokku: Dokku, app: str, packaging: Packaging) -> bool:
    """Whether the app serves HTTPS after the push: a certificate from the plugin, or one Dokku serves already."""
    return _wanted(dokku, app, packaging) or (dokku.app_dir(app) / "tls" / "server.crt").is_file()


def letsencrypt_manages(dokku: Dokku, app: str) -> bool:
    """Whether dokku-letsencrypt renews the app's certificate (its letsencrypt:auto-renew): the certificate Dokku
    serves is the one dokku-letsencrypt installed, as its fn-letsencrypt-is-active decides (dokku-letsencrypt
    internal-functions: tls/server.letsencrypt.crt, the copy it keeps, against letsencrypt/certs/current)."""
    app_root = dokku.app_dir(app)
    served = app_root / "tls" / "server.crt"
    marked = app_root / "tls" / "server.letsencrypt.crt"
    current = app_root / "letsencrypt" / "certs" / "current"
    if not served.is_file() or not (current / "certificates").is_dir():
        return False
    ours = marked if marked.is_file() else served
    issued = [*(current / "certificates").glob("*.crt"), current / "fullchain.pem"]
    return any(path.is_file() and path.read_bytes() == ours.read_bytes() for path in issued)


def check(dokku: Dokku, app: str, phase: Phase, packaging: Packaging) -> None:
    """Before a pre-deploy or a renewal that gets the app a certificate: refuse while another one serves the app,
    dokku-letsencrypt's always (two plugins must not renew one certificate), the admin's until they hand it over
    (adopt-certificate)."""
    if phase not in (Phase.PRE_DEPLOY, Phase.RENEW) or not _wanted(dokku, app, packaging):
        return
    if letsencrypt_manages(dokku, app):
        raise DeployError(
            f"dokku-letsencrypt manages the certificate of {app} and renews it; ansible-deploy will not get another",
            where="env.yml",
            key="tls",
            hint=f"Keep dokku-letsencrypt's: set `tls: none` in env.yml. Or hand it over to ansible-deploy: "
            f"dokku letsencrypt:disable {app} (it removes its certificate: HTTPS stops until the next push), then push "
            "again.",
        )
    installed = (dokku.app_dir(app) / "tls" / "server.crt").is_file()
    own = (dokku.data_dir(app) / "tls" / "server.crt").is_file()
    if installed and not own and Store(dokku).get(app, ADOPT) != "true":
        raise DeployError(
            f"{app} serves a certificate ansible-deploy did not install (certs:add); it is kept",
            where="env.yml",
            key="tls",
            hint=f"Keep it: set `tls: none` in env.yml. Or let ansible-deploy replace it with one from the ACME CA: "
            f"dokku ansible-deploy:set {app} {ADOPT} true, then push again.",
        )
