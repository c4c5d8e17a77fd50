"""Tell people how a run ended: a JSON POST to a webhook and/or a mail, never failing the run itself."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

from ansible_dokku_deploy import output
from ansible_dokku_deploy.history import SUCCEEDED, Run
from ansible_dokku_deploy.settings import GLOBAL, Store


def payload(run: Run) -> dict[str, object]:
    """What a notification says; the failure message is redacted like every output."""
    return {
        "app": run.app,
        "phase": run.phase,
        "rev": run.rev,
        "status": run.status,
        "duration": round(run.duration, 3),
        "changed": run.changed,
        "failed_task": run.failed_task,
        "message": output.redact(run.message),
        "run_id": run.id,
        "host": socket.gethostname(),
    }


def wanted(store: Store, run: Run) -> bool:
    return not run.check and (run.status != SUCCEEDED or store.computed(run.app, "notify-on") == "always")


def send(store: Store, run: Run) -> list[str]:
    """Deliver the run's result where the admin asked; returns what could not be delivered (already warned)."""
    if not wanted(store, run):
        return []
    body, timeout = payload(run), store.computed_int(run.app, "notify-timeout")
    problems = []
    url = store.computed(run.app, "notify-webhook-url")
    if url:
        problems += _attempt("webhook", lambda: _post(url, body, timeout))
    recipients = [a.strip() for a in store.computed(run.app, "notify-email-to").split(",") if a.strip()]
    if recipients:
        problems += _attempt("mail", lambda: _mail(store, recipients, body, timeout))
    return problems


def _attempt(kind: str, deliver: Callable[[], None]) -> list[str]:
    try:
        deliver()
    except (OSError, ValueError) as exc:  # urllib's and smtplib's errors are OSErrors
        problem = f"the {kind} notification could not be delivered ({_reason(exc)}); the run is not affected"
        output.warn(f"ansible-deploy: {problem}")
        return [problem]
    return []


def _reason(exc: BaseException) -> str:
    import urllib.error  # noqa: PLC0415  # loaded by the sender already

    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _post(url: str, body: dict[str, object], timeout: int) -> None:
    import urllib.request  # noqa: PLC0415  # only when there is something to send

    if not url.startswith(("http://", "https://")):
        raise ValueError("the webhook URL must start with http:// or https://")
    request = urllib.request.Request(  # noqa: S310  # scheme checked above
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
        answer.read()


def _mail(store: Store, recipients: list[str], body: dict[str, object], timeout: int) -> None:
    import smtplib  # noqa: PLC0415  # only when there is something to send
    from email.message import EmailMessage  # noqa: PLC0415

    mail = EmailMessage()
    mail["Subject"] = f"[ansible-deploy] {body['app']}: {body['phase']} {body['status']}"
    mail["From"] = store.computed(GLOBAL, "smtp-from")
    mail["To"] = ", ".join(recipients)
    lines = [f"{key}: {value}" for key, value in body.items() if value not in ("", None)]
    mail.set_content("\n".join(lines) + "\n")
    host, port = store.computed(GLOBAL, "smtp-host"), store.computed_int(GLOBAL, "smtp-port")
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        smtp.send_message(mail)
