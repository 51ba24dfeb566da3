"""Sending drafts through a real SMTP server (aiosmtpd on 127.0.0.1), and the links and
.eml files handed to the customer's own apps."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import ssl
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.services import bookings, customers, messaging, reminders
from app.services import settings as settings_svc
from app.services.customers import CustomerInput
from app.services.timeutil import local_today

SMTP_USER = "desk@salon-iris.example"
SMTP_PASSWORD = "pässwörd 密码"


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


class Authenticator:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode("utf-8") == SMTP_PASSWORD
        )
        if ok:
            self.logins.append(auth_data.login.decode())
        # handled=False: let aiosmtpd answer 535 itself on failure
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, so TLS is real and verified."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def server_context(certificate) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*map(str, certificate))
    return ctx


def client_context(certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture
def starttls_server(certificate):
    inbox, auth = Inbox(), Authenticator()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=auth,
        auth_required=True,
    )
    controller.start()
    yield port, inbox, auth
    controller.stop()


@pytest.fixture
def salon(empty_store):
    for key, value in (
        ("business_name", "Salon Iris"),
        ("kind", "salon"),
        ("email", "bonjour@salon-iris.example"),
        ("smtp_host", "127.0.0.1"),
        ("smtp_security", "starttls"),
        ("smtp_user", SMTP_USER),
        ("smtp_from", SMTP_USER),
    ):
        settings_svc.set_value(empty_store, key, value)
    return empty_store


def french_reminder(store) -> reminders.Draft:
    cid = customers.add_customer(
        store,
        CustomerInput(
            first_name="Zoé",
            last_name="Lefèvre",
            emails=["zoe@example.org"],
            phones=["06 52 52 72 72"],
            preferred_language="fr",
        ),
    ).id
    day = local_today("Europe/Paris") + dt.timedelta(days=1)
    data = bookings.BookingInput(start=f"{day} 10:00", customer_id=cid, service="Coupe")
    bookings.record_booking(store, data)
    [draft] = [d for d in reminders.draft_queue(store).drafts if d.customer_id == cid]
    return draft


def test_send_through_real_smtp_with_starttls_delivers_and_logs_once(
    salon, starttls_server, certificate, memory_keyring
):
    port, inbox, auth = starttls_server
    settings_svc.set_value(salon, "smtp_port", port)
    where = messaging.set_smtp_password(salon, SMTP_PASSWORD)
    assert "keyring" in where
    # the password is in the keyring, and nowhere in the settings
    assert SMTP_PASSWORD in memory_keyring.secrets.values()
    assert SMTP_PASSWORD not in repr(settings_svc.get_all(salon))
    draft = french_reminder(salon)

    record = messaging.send_draft(salon, draft, ssl_context=client_context(certificate))
    again = messaging.send_draft(salon, draft, ssl_context=client_context(certificate))

    assert len(inbox.messages) == 1, "a second send must not deliver twice"
    assert auth.logins == [SMTP_USER]
    mail_from, rcpt, raw = inbox.messages[0]
    assert mail_from == SMTP_USER and rcpt == ["zoe@example.org"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == draft.subject  # UTF-8 subject survives the trip
    assert "à bientôt" in msg["Subject"]
    assert msg["To"].addresses[0].display_name == "Zoé Lefèvre"
    assert msg["To"].addresses[0].addr_spec == "zoe@example.org"
    assert msg["From"].addresses[0].display_name == "Salon Iris"
    assert msg["Reply-To"].addresses[0].addr_spec == "bonjour@salon-iris.example"
    assert msg["Content-Language"] == "fr"
    assert msg["Message-ID"] and msg["Date"]
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().replace("\r\n", "\n") == draft.body  # CRLF on the wire

    assert record["already_sent"] is False and again["already_sent"] is True
    history = customers.get_profile(salon, draft.customer_id).communications
    assert [(m["kind"], m["channel"], m["status"], m["recipient"]) for m in history] == [
        ("reminder", "email", "sent", "zoe@example.org")
    ]
    assert history[0]["subject"] == draft.subject
    assert reminders.draft_queue(salon).drafts == []


def test_wrong_password_is_a_clear_error_and_nothing_is_logged(
    salon, starttls_server, certificate, memory_keyring
):
    port, inbox, _auth = starttls_server
    settings_svc.set_value(salon, "smtp_port", port)
    messaging.set_smtp_password(salon, "not the password")
    draft = french_reminder(salon)
    with pytest.raises(messaging.MessagingError, match="refused the user name or password"):
        messaging.send_draft(salon, draft, ssl_context=client_context(certificate))
    assert inbox.messages == []
    assert customers.get_profile(salon, draft.customer_id).communications == []
    assert len(reminders.draft_queue(salon).drafts) == 1  # still waiting to go


def test_untrusted_certificate_is_refused(salon, starttls_server, memory_keyring):
    port, inbox, _auth = starttls_server
    settings_svc.set_value(salon, "smtp_port", port)
    messaging.set_smtp_password(salon, SMTP_PASSWORD)
    draft = french_reminder(salon)
    with pytest.raises(messaging.MessagingError, match="secure connection"):
        messaging.send_draft(salon, draft)  # system trust store: self-signed is refused
    assert inbox.messages == []


# aiosmtpd warns because it only counts STARTTLS as TLS; this server is TLS from byte one
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls(salon, certificate, memory_keyring):
    inbox, auth = Inbox(), Authenticator()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_context(certificate),
        authenticator=auth,
        auth_required=True,
        server_hostname="127.0.0.1",
        # aiosmtpd only counts STARTTLS as TLS; this connection is TLS from the first byte
        auth_require_tls=False,
    )
    controller.start()
    try:
        settings_svc.set_value(salon, "smtp_port", port)
        settings_svc.set_value(salon, "smtp_security", "tls")
        messaging.set_smtp_password(salon, SMTP_PASSWORD)
        draft = french_reminder(salon)
        messaging.send_draft(salon, draft, ssl_context=client_context(certificate))
    finally:
        controller.stop()
    assert len(inbox.messages) == 1 and auth.logins == [SMTP_USER]


def test_no_keyring_means_no_smtp_password_and_no_plaintext_fallback(salon):
    with pytest.raises(messaging.MessagingError, match="no OS keyring"):
        messaging.set_smtp_password(salon, SMTP_PASSWORD)
    assert SMTP_PASSWORD not in repr(settings_svc.get_all(salon))


def test_unencrypted_smtp_refused_for_a_remote_server(salon, memory_keyring):
    settings_svc.set_value(salon, "smtp_host", "mail.example.org")
    settings_svc.set_value(salon, "smtp_security", "none")
    draft = french_reminder(salon)
    with pytest.raises(messaging.MessagingError, match="without encryption"):
        messaging.send_draft(salon, draft)


def test_links_carry_the_text(salon):
    draft = french_reminder(salon)
    mailto = urlsplit(messaging.mailto_link(draft.to, draft.subject, draft.body))
    assert mailto.scheme == "mailto" and mailto.path == "zoe@example.org"
    assert "+" not in mailto.query  # '+' would be read as a literal plus
    query = {k: unquote(v) for k, v in (p.split("=", 1) for p in mailto.query.split("&"))}
    assert query["subject"] == draft.subject
    assert query["body"] == draft.body.replace("\n", "\r\n")

    sms = messaging.sms_link(draft.phone, draft.body)
    assert sms.startswith("sms:+33652527272?body=")
    assert unquote(sms.split("body=", 1)[1]) == draft.body

    wa = urlsplit(messaging.whatsapp_link(draft.phone, draft.body))
    assert (wa.netloc, wa.path) == ("wa.me", "/33652527272")
    assert parse_qs(wa.query)["text"] == [draft.body]


def test_eml_file_opens_as_an_unsent_utf8_draft(salon, tmp_path):
    draft = french_reminder(salon)
    msg = messaging.build_email(salon, draft)
    path = messaging.save_eml(msg, tmp_path / "rappel.eml")
    assert path.stat().st_mode & 0o077 == 0
    back = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert back["X-Unsent"] == "1"
    assert back["Subject"] == draft.subject
    assert back.get_content().replace("\r\n", "\n") == draft.body
    assert back["To"].addresses[0].display_name == "Zoé Lefèvre"
