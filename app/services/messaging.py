"""Handing a draft to the world: links for the mail client, SMS and WhatsApp, .eml files,
and SMTP for owners who configured a server.

Regulars stays offline-first: every draft can leave through the customer's own mail or
phone apps. SMTP is optional; its password lives only in the OS keyring (never in the
database or the settings), and without a keyring there is no SMTP password at all rather
than a plaintext fallback.
"""

from __future__ import annotations

import base64
import contextlib
import copy as copy_mod
import ipaddress
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from app.services import reminders
from app.services import settings as settings_svc
from app.services.errors import ServiceError, ValidationError
from app.services.store import Store

KEYRING_SERVICE = "Regulars SMTP"


class MessagingError(ServiceError):
    """A message could not be handed over; the text says why and what to change."""


# ---------------------------------------------------------------- links


def mailto_link(to: str, subject: str, body: str) -> str:
    """A ``mailto:`` URL (RFC 6068) with subject and body filled in, UTF-8 percent-encoded
    (spaces as %20, line breaks as %0D%0A: mail clients read '+' literally)."""
    text = body.replace("\r\n", "\n").replace("\n", "\r\n")
    return (
        f"mailto:{quote(to, safe='@')}"
        f"?subject={quote(subject, safe='')}&body={quote(text, safe='')}"
    )


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def sms_link(phone: str, body: str) -> str:
    """An ``sms:`` URL (RFC 5724) for an E.164 number with the text filled in."""
    number = "+" + _digits(phone) if phone.strip().startswith("+") else _digits(phone)
    return f"sms:{number}?body={quote(body, safe='')}"


def whatsapp_link(phone: str, body: str) -> str:
    """A ``https://wa.me/<number>?text=…`` click-to-chat link (international number,
    digits only, no '+')."""
    digits = _digits(phone)
    if len(digits) < 7:
        raise ValidationError("phone", f"'{phone}' is not an international number for WhatsApp")
    return f"https://wa.me/{digits}?text={quote(body, safe='')}"


# ---------------------------------------------------------------- email


def _sender(conf: dict[str, Any]) -> str:
    return conf["smtp_from"] or conf["email"]


def build_email(
    store: Store,
    draft: reminders.Draft,
    *,
    subject: str | None = None,
    body: str | None = None,
    to: str | None = None,
) -> EmailMessage:
    """The draft as an email: UTF-8 subject and body, names encoded for any mail server.

    Raises:
        MessagingError: when there is no email address to send to.
    """
    conf = settings_svc.get_all(store)
    address = to or (draft.to if draft.channel == "email" else draft.email)
    if not address:
        raise MessagingError(f"{draft.customer_name or 'this customer'} has no email address")
    msg = EmailMessage()
    sender = _sender(conf)
    if sender:
        msg["From"] = formataddr((conf["business_name"], sender))
        if conf["email"] and conf["email"].lower() != sender.lower():
            msg["Reply-To"] = formataddr((conf["business_name"], conf["email"]))
    msg["To"] = formataddr((draft.customer_name, address)) if draft.customer_name else address
    msg["Subject"] = subject if subject is not None else draft.subject
    msg["Date"] = formatdate(localtime=True)
    domain = sender.rpartition("@")[2] if sender and "@" in sender else None
    msg["Message-ID"] = make_msgid(domain=domain)
    msg.set_content(body if body is not None else draft.body, charset="utf-8")
    # after set_content, which drops every Content-* header set before it
    msg["Content-Language"] = draft.language
    return msg


def save_eml(msg: EmailMessage, path: str | os.PathLike[str]) -> Path:
    """Write the message as an .eml file the mail client opens as a draft to send.

    ``X-Unsent: 1`` makes Outlook open it as an unsent draft; other clients ignore it.
    The file is created owner-only: it holds a customer's personal data.
    """
    path = Path(path)
    copy = copy_mod.deepcopy(msg)
    copy["X-Unsent"] = "1"
    data = copy.as_bytes(policy=SMTP_POLICY)
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------- SMTP password (keyring)


def _account(conf: dict[str, Any]) -> str:
    if not conf["smtp_host"] or not conf["smtp_user"]:
        raise MessagingError("set the SMTP server and user first (settings smtp_host, smtp_user)")
    return f"{conf['smtp_user']}@{conf['smtp_host']}"


def _keyring():
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise MessagingError(
            "no OS keyring is available on this machine, so Regulars cannot keep an SMTP "
            "password (it is never stored in the database); use the mail-client or "
            ".eml buttons instead"
        )
    return keyring


def set_smtp_password(store: Store, password: str) -> str:
    """Keep the SMTP password in the OS keyring; returns where it went, in words."""
    if not password:
        raise ValidationError("password", "empty password")
    conf = settings_svc.get_all(store)
    account = _account(conf)
    keyring = _keyring()
    try:
        keyring.set_password(KEYRING_SERVICE, account, password)
    except Exception as exc:  # locked keyring, denied access: say so
        raise MessagingError(f"the OS keyring refused the SMTP password ({exc})") from None
    backend = type(keyring.get_keyring()).__name__
    return f"the OS keyring ({backend}), entry '{KEYRING_SERVICE}' for {account}"


def delete_smtp_password(store: Store) -> None:
    """Forget the SMTP password (for example after changing server)."""
    conf = settings_svc.get_all(store)
    keyring = _keyring()
    with contextlib.suppress(Exception):  # already gone
        keyring.delete_password(KEYRING_SERVICE, _account(conf))


def has_smtp_password(store: Store) -> bool:
    """Whether the keyring holds a password for the configured SMTP account."""
    conf = settings_svc.get_all(store)
    try:
        return bool(_keyring().get_password(KEYRING_SERVICE, _account(conf)))
    except MessagingError:
        return False
    except Exception:
        return False


def needs_smtp_password(store: Store) -> bool:
    """An SMTP user is set but the keyring holds no password for it (yet)."""
    return bool(settings_svc.get(store, "smtp_user")) and not has_smtp_password(store)


def smtp_configured(store: Store) -> bool:
    """An SMTP server and a sender address are set."""
    conf = settings_svc.get_all(store)
    return bool(conf["smtp_host"] and _sender(conf))


# ---------------------------------------------------------------- SMTP send


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def send_email(
    store: Store,
    msg: EmailMessage,
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 30,
) -> None:
    """Send one message through the configured SMTP server.

    Security 'starttls' (port 587) upgrades the connection before logging in, 'tls'
    (port 465) speaks TLS from the start; 'none' is accepted only for a server on this
    machine, and never with a password. Certificates are verified.

    Raises:
        MessagingError: with the server, port and what to change.
    """
    conf = settings_svc.get_all(store)
    host, port, security = conf["smtp_host"], int(conf["smtp_port"]), conf["smtp_security"]
    user = conf["smtp_user"]
    if not host:
        raise MessagingError("no SMTP server set (Settings ▸ Email, or 'settings smtp_host …')")
    if not _sender(conf):
        raise MessagingError("no sender address set (settings smtp_from or email)")
    if security == "none" and not _is_loopback(host):
        raise MessagingError(
            f"refusing to send to {host} without encryption: choose starttls (port 587) "
            "or tls (port 465)"
        )
    password = None
    if user:
        password = _keyring().get_password(KEYRING_SERVICE, _account(conf))
        if not password:
            raise MessagingError(
                f"no SMTP password for {user} in the OS keyring: set it in Settings ▸ Email "
                "or with 'regulars smtp-password'"
            )
    context = ssl_context or ssl.create_default_context()
    where = f"{host}:{port}"
    try:
        if security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, context=context, timeout=timeout)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            client.ehlo()
            if security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if user:
                _login(client, user, password or "")
            client.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise MessagingError(
            f"{where} refused the user name or password ({_smtp_text(exc)})"
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MessagingError(
            f"{where} does not support this ({exc}); check the port and security setting"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(f"{a} ({_smtp_text(e)})" for a, e in exc.recipients.items())
        raise MessagingError(f"{where} refused the recipient: {refused}") from None
    except smtplib.SMTPSenderRefused as exc:
        raise MessagingError(
            f"{where} refused the sender {exc.sender} ({_smtp_text(exc)})"
        ) from None
    except ssl.SSLError as exc:
        raise MessagingError(
            f"secure connection to {where} failed ({exc.reason or exc}); check the port "
            "(587 for starttls, 465 for tls) and the server's certificate"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MessagingError(f"could not send through {where} ({exc})") from None


def _login(client: smtplib.SMTP, user: str, password: str) -> None:
    """Log in; smtplib encodes credentials as ASCII, so 'pässwörd' or '密码' go through
    AUTH PLAIN by hand, UTF-8 encoded as RFC 4616 says."""
    if (user + password).isascii():
        client.login(user, password)
        return
    if "plain" not in client.esmtp_features.get("auth", "").lower().split():
        raise MessagingError(
            "the SMTP password has non-ASCII characters and the server does not offer "
            "AUTH PLAIN, the only way to send them"
        )
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    code, resp = client.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, resp)


def _smtp_text(exc: Any) -> str:
    code = getattr(exc, "smtp_code", None)
    error = getattr(exc, "smtp_error", b"")
    if isinstance(exc, tuple):
        code, error = exc[0], exc[1]
    if isinstance(error, bytes):
        error = error.decode("utf-8", "replace")
    return f"{code} {error}".strip()


def send_draft(
    store: Store,
    draft: reminders.Draft,
    *,
    subject: str | None = None,
    body: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> dict[str, Any]:
    """Send a draft by SMTP and record it once in the customer's history.

    Returns:
        The communication record (``already_sent`` True when it had been recorded before,
        in which case nothing is sent again).
    """
    if reminders.was_sent(store, draft):
        return reminders.mark_sent(store, draft, channel="email")
    msg = build_email(store, draft, subject=subject, body=body)
    send_email(store, msg, ssl_context=ssl_context)
    to = msg["To"].addresses[0].addr_spec
    sent = reminders.Draft(**{**draft.__dict__, "channel": "email", "to": to})
    return reminders.mark_sent(
        store, sent, channel="email", subject=str(msg["Subject"]), body=msg.get_content()
    )
