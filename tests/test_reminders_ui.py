"""The draft-queue window and the template editor, driven as the person at the desk would."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QPlainTextEdit, QPushButton, QTableView

from app.services import bookings, customers, templates
from app.services import settings as settings_svc
from app.services.customers import CustomerInput
from app.services.timeutil import local_today
from app.ui.drafts_smtp import SmtpPasswordDialog
from app.ui.drafts_templates import TemplateEditorDialog
from app.ui.drafts_window import DraftsDialog
from tests.test_reminders_smtp import (
    SMTP_PASSWORD,
    SMTP_USER,
    client_context,
    starttls_server,  # noqa: F401  (fixture)
)
from tests.test_reminders_smtp import certificate as certificate


@pytest.fixture
def desk(empty_store):
    store = empty_store
    for key, value in (("business_name", "Salon Iris"), ("kind", "salon")):
        settings_svc.set_value(store, key, value)
    day = local_today("Europe/Paris") + dt.timedelta(days=1)
    ids = {}
    for key, data, time in (
        (
            "zoe",
            CustomerInput(
                first_name="Zoé", last_name="Lefèvre", emails=["zoe@example.org"],
                phones=["06 52 52 72 72"], preferred_language="fr",
            ),
            "10:00",
        ),
        (
            "mei",
            CustomerInput(
                first_name="美", last_name="林", phones=["+86 138 0013 8000"],
                preferred_language="zh-Hans",
            ),
            "11:00",
        ),
        ("nobody", CustomerInput(first_name="Marie", last_name="Sans-Contact"), "12:00"),
    ):  # fmt: skip
        cid = customers.add_customer(store, data).id
        bookings.record_booking(
            store,
            bookings.BookingInput(start=f"{day} {time}", customer_id=cid, service="Coupe"),
        )
        ids[key] = cid
    return store, ids


def open_dialog(qtbot, store) -> DraftsDialog:
    dialog = DraftsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.refresh_button.isEnabled(), timeout=20000)
    return dialog


def rows(dialog) -> list[tuple[str, ...]]:
    m = dialog.findChild(QTableView, "draftsTable").model()
    return [
        tuple(m.index(r, c).data() for c in range(m.columnCount())) for r in range(m.rowCount())
    ]


def select(qtbot, dialog, name: str) -> None:
    table = dialog.findChild(QTableView, "draftsTable")
    for r in range(table.model().rowCount()):
        if table.model().index(r, 2).data() == name:
            table.selectRow(r)
            return
    raise AssertionError(f"{name} not in the list")


def test_queue_lists_drafts_and_unreachable_with_reason(qtbot, desk):
    store, _ids = desk
    dialog = open_dialog(qtbot, store)
    listed = rows(dialog)
    tomorrow = (local_today("Europe/Paris") + dt.timedelta(days=1)).isoformat()
    assert [r[1:] for r in listed] == [
        ("Reminder", "Zoé Lefèvre", f"{tomorrow} 10:00", "fr", "Email", "zoe@example.org"),
        ("Reminder", "林美", f"{tomorrow} 11:00", "zh-Hans", "SMS", "+8613800138000"),
    ]
    unreachable = dialog.findChild(QTableView, "unreachableTable").model()
    assert unreachable.rowCount() == 1
    assert unreachable.index(0, 0).data() == "Marie Sans-Contact"
    assert unreachable.index(0, 2).data() == "no email address or phone number"
    assert dialog.tabs.tabText(0) == "To send (2)"

    select(qtbot, dialog, "林美")
    body = dialog.findChild(QPlainTextEdit, "draftBody").toPlainText()
    assert body.startswith("林美，您好！")
    # Chinese customer has a phone only: no mail buttons, SMS and WhatsApp available
    assert not dialog.findChild(QPushButton, "mailButton").isEnabled()
    assert dialog.findChild(QPushButton, "whatsappButton").isEnabled()


def test_whatsapp_then_mark_sent_records_it_once_with_the_edited_text(qtbot, desk):
    store, ids = desk
    dialog = open_dialog(qtbot, store)
    opened: list[str] = []
    dialog.open_url = lambda url: opened.append(url) or True
    select(qtbot, dialog, "Zoé Lefèvre")
    body = dialog.findChild(QPlainTextEdit, "draftBody")
    body.moveCursor(body.textCursor().MoveOperation.End)
    qtbot.keyClicks(body, "PS : parking gratuit devant le salon.")

    qtbot.mouseClick(dialog.findChild(QPushButton, "whatsappButton"), Qt.MouseButton.LeftButton)
    assert opened and opened[0].startswith("https://wa.me/33652527272?text=Bonjour%20Zo%C3%A9")
    qtbot.mouseClick(dialog.findChild(QPushButton, "markSentButton"), Qt.MouseButton.LeftButton)

    assert [r[2] for r in rows(dialog)] == ["林美"]
    assert "Zoé Lefèvre" in dialog.findChild(QLabel, "draftsStatus").text()
    history = customers.get_profile(store, ids["zoe"]).communications
    assert len(history) == 1
    assert history[0]["channel"] == "whatsapp"
    assert history[0]["body"].rstrip().endswith("PS : parking gratuit devant le salon.")
    # a fresh queue no longer offers it
    qtbot.mouseClick(dialog.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.refresh_button.isEnabled(), timeout=20000)
    assert [r[2] for r in rows(dialog)] == ["林美"]


def test_copy_and_save_eml(qtbot, desk, tmp_path):
    store, _ids = desk
    dialog = open_dialog(qtbot, store)
    select(qtbot, dialog, "Zoé Lefèvre")
    qtbot.mouseClick(dialog.findChild(QPushButton, "copyButton"), Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text().startswith("Rappel : à bientôt")
    target = tmp_path / "zoe.eml"
    dialog.ask_save_path = lambda suggested: str(target)
    qtbot.mouseClick(dialog.findChild(QPushButton, "emlButton"), Qt.MouseButton.LeftButton)
    msg = email.message_from_bytes(target.read_bytes(), policy=email.policy.default)
    assert msg["To"].addresses[0].addr_spec == "zoe@example.org"
    assert msg["Subject"].startswith("Rappel : à bientôt")


def test_send_by_smtp_from_the_window(qtbot, desk, starttls_server, certificate, memory_keyring):  # noqa: F811
    store, ids = desk
    port, inbox, _auth = starttls_server
    for key, value in (
        ("smtp_host", "127.0.0.1"),
        ("smtp_port", port),
        ("smtp_user", SMTP_USER),
        ("smtp_from", SMTP_USER),
    ):
        settings_svc.set_value(store, key, value)
    dialog = open_dialog(qtbot, store)
    dialog.ssl_context = client_context(certificate)
    asked = []

    def ask() -> bool:  # what the password dialog does when the owner types it
        asked.append(True)
        password = SmtpPasswordDialog(store)
        qtbot.addWidget(password)
        password.password.setText(SMTP_PASSWORD)  # pasted: QTest cannot type 密码
        password.save()
        return password.result() == password.DialogCode.Accepted

    dialog.ask_smtp_password = ask
    select(qtbot, dialog, "Zoé Lefèvre")
    send = dialog.findChild(QPushButton, "smtpButton")
    assert send.isEnabled()
    qtbot.mouseClick(send, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(rows(dialog)) == 1, timeout=20000)
    assert asked == [True]
    assert memory_keyring.secrets[("Regulars SMTP", f"{SMTP_USER}@127.0.0.1")] == (SMTP_PASSWORD)
    assert len(inbox.messages) == 1
    history = customers.get_profile(store, ids["zoe"]).communications
    assert [(c["channel"], c["status"]) for c in history] == [("email", "sent")]


def test_template_editor_previews_on_a_real_customer_and_refuses_bad_templates(qtbot, desk):
    store, _ids = desk
    editor = TemplateEditorDialog(store)
    qtbot.addWidget(editor)
    editor.show()
    editor.kind.setCurrentIndex(editor.kind.findData("reminder"))
    editor.language.setCurrentText("fr")
    editor.language.lineEdit().editingFinished.emit()
    editor.customer.setCurrentIndex(editor.customer.findData(_ids["zoe"]))
    preview = editor.findChild(QPlainTextEdit, "templatePreview")
    qtbot.waitUntil(lambda: "Bonjour Zoé," in preview.toPlainText())

    body = editor.findChild(QPlainTextEdit, "templateBody")
    body.clear()
    qtbot.keyClicks(body, "Coucou {{ prenom }} !")
    errors = editor.findChild(QLabel, "templateErrors")
    qtbot.waitUntil(lambda: "prenom" in errors.text())
    qtbot.mouseClick(editor.findChild(QPushButton, "saveTemplate"), Qt.MouseButton.LeftButton)
    assert "unknown placeholder 'prenom'" in errors.text()
    assert not any(t.custom for t in templates.list_templates(store))

    body.clear()
    qtbot.keyClicks(body, "Coucou {{ ''.__class__.__mro__ }}")
    qtbot.waitUntil(lambda: "sandbox" in errors.text())
    qtbot.mouseClick(editor.findChild(QPushButton, "saveTemplate"), Qt.MouseButton.LeftButton)
    assert not any(t.custom for t in templates.list_templates(store))

    body.clear()
    # (QTest types Latin letters only; the accented text comes from the customer)
    qtbot.keyClicks(body, "Coucou {{ first_name }}, RDV {{ time }} !")
    qtbot.waitUntil(lambda: "Coucou Zoé, RDV 10:00 !" in preview.toPlainText())
    qtbot.mouseClick(editor.findChild(QPushButton, "saveTemplate"), Qt.MouseButton.LeftButton)
    assert errors.text() == ""
    assert templates.get_template(store, "reminder", "fr").body == (
        "Coucou {{ first_name }}, RDV {{ time }} !\n"
    )
    assert editor.findChild(QPushButton, "resetTemplate").isEnabled()
    qtbot.mouseClick(editor.findChild(QPushButton, "resetTemplate"), Qt.MouseButton.LeftButton)
    assert not templates.get_template(store, "reminder", "fr").custom
    assert "Bonjour" in body.toPlainText()


def test_smtp_password_dialog_is_honest_without_a_keyring(qtbot, desk):
    store, _ids = desk
    settings_svc.set_value(store, "smtp_host", "mail.example.org")
    settings_svc.set_value(store, "smtp_user", SMTP_USER)
    dialog = SmtpPasswordDialog(store)
    qtbot.addWidget(dialog)
    assert "keyring" in dialog.findChild(QLabel).text()
    qtbot.keyClicks(dialog.password, "secret")
    dialog.save()
    assert "no OS keyring" in dialog.error.text()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert "secret" not in repr(settings_svc.get_all(store))
