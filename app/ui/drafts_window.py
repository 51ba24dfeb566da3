"""Messages to send today: the draft queue, a preview, and every way to send a draft.

Each draft leaves through the customer's own apps (mail client, SMS, WhatsApp, clipboard,
an .eml file) or by SMTP when the owner configured a server; "Mark as sent" then records
it in the customer's history so it is never drafted again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QCoreApplication, QModelIndex, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services import messaging, reminders
from app.services import settings as settings_svc
from app.services.errors import ServiceError
from app.services.store import Store
from app.services.timeutil import to_local
from app.ui.worker import run_in_background


def kind_labels() -> dict[str, str]:
    """The message kinds in words, translated."""

    def tr(text: str) -> str:
        return QCoreApplication.translate("MessageKinds", text)

    return {
        "confirmation": tr("Confirmation"),
        "reminder": tr("Reminder"),
        "pre-arrival": tr("Pre-arrival info"),
        "follow-up": tr("Thank-you"),
        "birthday": tr("Birthday"),
        "win-back": tr("Win-back"),
    }


class DraftsModel(QAbstractTableModel):
    """The queue as a table; holds the drafts a run of the queue produced."""

    COLUMNS = ("Due", "Message", "Customer", "Booking", "Language", "Channel", "To")

    def __init__(self, tz_name: str = "UTC") -> None:
        super().__init__()
        self.drafts: list[reminders.Draft] = []
        self.tz_name = tz_name
        self.labels = kind_labels()

    def set_drafts(self, drafts: list[reminders.Draft], tz_name: str) -> None:
        self.beginResetModel()
        self.drafts, self.tz_name = list(drafts), tz_name
        self.endResetModel()

    def remove(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        del self.drafts[row]
        self.endRemoveRows()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.drafts)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self.COLUMNS)

    def _local(self, when, fmt: str) -> str:
        return to_local(when, self.tz_name).strftime(fmt) if when else ""

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        d = self.drafts[index.row()]
        channel = {"email": self.tr("Email"), "sms": self.tr("SMS")}.get(d.channel, d.channel)
        return (
            self._local(d.due_at, "%Y-%m-%d"),
            self.labels.get(d.kind, d.kind),
            d.customer_name,
            self._local(d.booking_start, "%Y-%m-%d %H:%M"),
            d.language,
            channel,
            d.to,
        )[index.column()]

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return (
                self.tr("Due"),
                self.tr("Message"),
                self.tr("Customer"),
                self.tr("Booking"),
                self.tr("Language"),
                self.tr("Channel"),
                self.tr("To"),
            )[section]
        return None


class UnreachableModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[reminders.Unreachable] = []
        self.labels = kind_labels()

    def set_rows(self, rows: list[reminders.Unreachable]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 3

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        u = self.rows[index.row()]
        return (u.customer_name, self.labels.get(u.kind, u.kind), u.reason)[index.column()]

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return (self.tr("Customer"), self.tr("Message"), self.tr("Why it cannot be sent"))[
                section
            ]
        return None


class DraftsDialog(QDialog):
    """The "messages to send today" window."""

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setObjectName("draftsDialog")
        self.setWindowTitle(self.tr("Messages to send today"))
        # seams for tests and for platforms without a default handler
        self.open_url: Callable[[str], bool] = lambda url: QDesktopServices.openUrl(
            QUrl.fromEncoded(url.encode("ascii"))
        )
        self.ask_save_path: Callable[[str], str] = self._ask_save_path
        self.ssl_context = None  # tests pass a context trusting their own certificate
        self.ask_smtp_password: Callable[[], bool] = self._ask_smtp_password
        self._channel_used: dict[str, str] = {}
        self._operation = None
        self._loading = None
        self._build()
        self.refresh()

    # ------------------------------------------------------------ layout

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Also due in the next")))
        self.days = QSpinBox(objectName="draftsDays")
        self.days.setRange(0, 30)
        self.days.setSuffix(self.tr(" days"))
        top.addWidget(self.days)
        self.refresh_button = QPushButton(self.tr("&Refresh"), objectName="refreshDrafts")
        top.addWidget(self.refresh_button)
        top.addStretch(1)
        self.templates_button = QPushButton(self.tr("&Templates…"), objectName="openTemplates")
        top.addWidget(self.templates_button)

        self.model = DraftsModel()
        self.table = QTableView(objectName="draftsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate((82, 105, 150, 118, 72, 58)):
            self.table.setColumnWidth(col, width)

        self.unreachable_model = UnreachableModel()
        self.unreachable = QTableView(objectName="unreachableTable")
        self.unreachable.setModel(self.unreachable_model)
        self.unreachable.verticalHeader().hide()
        self.unreachable.horizontalHeader().setStretchLastSection(True)
        self.unreachable.setColumnWidth(0, 180)
        self.unreachable.setColumnWidth(1, 110)

        self.tabs = QTabWidget(objectName="draftsTabs")
        self.tabs.addTab(self.table, self.tr("To send"))
        self.tabs.addTab(self.unreachable, self.tr("No usable channel"))

        preview = QWidget()
        form = QFormLayout(preview)
        self.to_label = QLabel(objectName="draftTo")
        self.to_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subject = QLineEdit(objectName="draftSubject")
        self.body = QPlainTextEdit(objectName="draftBody")
        form.addRow(self.tr("To:"), self.to_label)
        form.addRow(self.tr("Subject:"), self.subject)
        form.addRow(self.body)

        buttons = QHBoxLayout()
        self.copy_button = QPushButton(self.tr("&Copy"), objectName="copyButton")
        self.mail_button = QPushButton(self.tr("Open in &mail"), objectName="mailButton")
        self.sms_button = QPushButton(self.tr("&SMS"), objectName="smsButton")
        self.whatsapp_button = QPushButton(self.tr("&WhatsApp"), objectName="whatsappButton")
        self.eml_button = QPushButton(self.tr("Save .&eml…"), objectName="emlButton")
        self.smtp_button = QPushButton(self.tr("Se&nd by email"), objectName="smtpButton")
        self.mark_button = QPushButton(self.tr("Mark as sen&t"), objectName="markSentButton")
        self.mark_button.setDefault(True)
        for b in (
            self.copy_button,
            self.mail_button,
            self.sms_button,
            self.whatsapp_button,
            self.eml_button,
            self.smtp_button,
        ):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.mark_button)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(preview)
        right_layout.addLayout(buttons)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tabs)
        split.addWidget(right)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 4)
        split.setSizes([700, 560])

        self.status = QLabel(objectName="draftsStatus")
        self.status.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        self.resize(1300, 640)

        self.refresh_button.clicked.connect(self.refresh)
        self.days.valueChanged.connect(self.refresh)
        self.templates_button.clicked.connect(self._open_templates)
        self.table.selectionModel().currentRowChanged.connect(self._show_current)
        self.copy_button.clicked.connect(self.copy_text)
        self.mail_button.clicked.connect(self.open_mail)
        self.sms_button.clicked.connect(self.open_sms)
        self.whatsapp_button.clicked.connect(self.open_whatsapp)
        self.eml_button.clicked.connect(self.save_eml)
        self.smtp_button.clicked.connect(self.send_smtp)
        self.mark_button.clicked.connect(self.mark_sent)
        QShortcut(QKeySequence.StandardKey.Refresh, self, self.refresh)
        self._set_enabled(None)

    # ------------------------------------------------------------ loading

    def refresh(self) -> None:
        """Rebuild the queue in the background (it reads every upcoming booking)."""
        days = self.days.value()
        if self._loading is not None:
            self._loading.cancel()  # its (partial) result is ignored in _loaded
        self.status.setText(self.tr("Preparing messages…"))
        self.refresh_button.setEnabled(False)

        def work(progress, cancelled):
            queue = reminders.draft_queue(
                self.store, days=days, progress=progress, cancelled=cancelled, render=False
            )
            conf = settings_svc.get_all(self.store)
            return queue, conf["timezone"], messaging.smtp_configured(self.store)

        self._loading = run_in_background(
            self,
            work,
            with_progress=True,
            label=self.tr("Preparing messages…"),
            on_done=self._loaded,
            on_error=self._load_failed,
        )

    def _loaded(self, result: tuple[reminders.DraftQueue, str, bool]) -> None:
        queue, tz_name, smtp_ready = result
        if queue.cancelled:
            return
        self._loading = None
        self._smtp_ready = smtp_ready
        self.refresh_button.setEnabled(True)
        self.model.set_drafts(queue.drafts, tz_name)
        self.unreachable_model.set_rows(queue.unreachable)
        self.tabs.setTabText(0, self.tr("To send (%n)", "", len(queue.drafts)))
        self.tabs.setTabText(1, self.tr("No usable channel (%n)", "", len(queue.unreachable)))
        if queue.drafts:
            self.table.selectRow(0)
            self.status.setText(self.tr("%n message(s) to send.", "", len(queue.drafts)))
        else:
            self._show_current(QModelIndex())
            self.status.setText(self.tr("Nothing to send today."))

    def _load_failed(self, message: str) -> None:
        self._loading = None
        self.refresh_button.setEnabled(True)
        self.status.setText(self.tr("Could not prepare the messages: %1").replace("%1", message))

    # ------------------------------------------------------------ current draft

    def current(self) -> reminders.Draft | None:
        row = self.table.currentIndex().row()
        return self.model.drafts[row] if 0 <= row < len(self.model.drafts) else None

    def _show_current(self, index: QModelIndex, _previous: QModelIndex | None = None) -> None:
        draft = self.current() if index.isValid() else None
        if draft is not None:
            try:
                draft.ensure_rendered()
            except ServiceError as exc:
                self._hint(str(exc))
                draft = None
        if draft is None:
            self.to_label.clear()
            self.subject.clear()
            self.body.clear()
        else:
            extra = []
            if draft.phone and draft.phone != draft.to:
                extra.append(draft.phone)
            self.to_label.setText(
                f"{draft.customer_name} <{draft.to}>" + (f" · {extra[0]}" if extra else "")
            )
            self.subject.setText(draft.subject)
            self.body.setPlainText(draft.body)
        self._set_enabled(draft)

    def _set_enabled(self, draft: reminders.Draft | None) -> None:
        has = draft is not None
        email = bool(draft and (draft.email or draft.channel == "email"))
        phone = bool(draft and draft.phone)
        self.copy_button.setEnabled(has)
        self.mark_button.setEnabled(has)
        self.mail_button.setEnabled(email)
        self.eml_button.setEnabled(email)
        self.sms_button.setEnabled(phone)
        self.whatsapp_button.setEnabled(phone)
        self.smtp_button.setEnabled(email and getattr(self, "_smtp_ready", False))
        if not getattr(self, "_smtp_ready", False):
            self.smtp_button.setToolTip(
                self.tr("Set up an SMTP server in the settings to send from Regulars.")
            )
        else:
            self.smtp_button.setToolTip("")
        self.subject.setEnabled(has)
        self.body.setEnabled(has)

    def _email_to(self, draft: reminders.Draft) -> str:
        return draft.to if draft.channel == "email" else (draft.email or "")

    def edited(self) -> tuple[str, str]:
        """Subject and body as they stand in the preview (staff may have edited them)."""
        body = self.body.toPlainText()
        return self.subject.text(), body if body.endswith("\n") else body + "\n"

    # ------------------------------------------------------------ actions

    def copy_text(self) -> None:
        draft = self.current()
        if draft is None:
            return
        subject, body = self.edited()
        text = f"{subject}\n\n{body}" if draft.channel == "email" else body
        QGuiApplication.clipboard().setText(text)
        self._channel_used[draft.key] = draft.channel
        self._hint(self.tr("Copied. Once you have sent it, click Mark as sent."))

    def open_mail(self) -> None:
        draft = self.current()
        if draft is None:
            return
        subject, body = self.edited()
        self._open(messaging.mailto_link(self._email_to(draft), subject, body), draft, "email")

    def open_sms(self) -> None:
        draft = self.current()
        if draft is None or not draft.phone:
            return
        self._open(messaging.sms_link(draft.phone, self.edited()[1]), draft, "sms")

    def open_whatsapp(self) -> None:
        draft = self.current()
        if draft is None or not draft.phone:
            return
        self._open(messaging.whatsapp_link(draft.phone, self.edited()[1]), draft, "whatsapp")

    def _open(self, url: str, draft: reminders.Draft, channel: str) -> None:
        if self.open_url(url):
            self._channel_used[draft.key] = channel
            self._hint(self.tr("Opened. Once you have sent it, click Mark as sent."))
        else:
            self._hint(self.tr("No application on this computer opens this kind of link."))

    def _ask_save_path(self, suggested: str) -> str:
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save the message"), suggested, self.tr("Email message (*.eml)")
        )
        return path

    def save_eml(self) -> None:
        draft = self.current()
        if draft is None:
            return
        path = self.ask_save_path(f"{draft.kind}-{draft.customer_name}.eml".replace("/", "-"))
        if not path:
            return
        subject, body = self.edited()
        try:
            msg = messaging.build_email(
                self.store, draft, subject=subject, body=body, to=self._email_to(draft)
            )
            messaging.save_eml(msg, path)
        except (OSError, messaging.MessagingError) as exc:
            self._hint(self.tr("Could not save: %1").replace("%1", str(exc)))
            return
        self._channel_used[draft.key] = "email"
        self._hint(
            self.tr("Saved %1. Open it in your mail program to send it.").replace("%1", path)
        )

    def _ask_smtp_password(self) -> bool:
        from app.ui.drafts_smtp import open_smtp_password_dialog

        return open_smtp_password_dialog(self, self.store).result() == QDialog.DialogCode.Accepted

    def send_smtp(self) -> None:
        draft = self.current()
        if draft is None:
            return
        if messaging.needs_smtp_password(self.store) and not self.ask_smtp_password():
            return
        subject, body = self.edited()
        row = self.table.currentIndex().row()
        self.smtp_button.setEnabled(False)
        self._hint(self.tr("Sending to %1…").replace("%1", self._email_to(draft)))
        email_draft = reminders.Draft(
            **{**draft.__dict__, "channel": "email", "to": self._email_to(draft)}
        )
        self._operation = run_in_background(
            self,
            lambda: messaging.send_draft(
                self.store, email_draft, subject=subject, body=body, ssl_context=self.ssl_context
            ),
            on_done=lambda _record: self._sent(draft, row),
            on_error=self._send_failed,
        )

    def _send_failed(self, message: str) -> None:
        self._set_enabled(self.current())
        self._hint(self.tr("Not sent: %1").replace("%1", message))

    def mark_sent(self) -> None:
        draft = self.current()
        if draft is None:
            return
        subject, body = self.edited()
        channel = self._channel_used.get(draft.key, draft.channel)
        reminders.mark_sent(self.store, draft, channel=channel, subject=subject, body=body)
        self._sent(draft, self.table.currentIndex().row())

    def _sent(self, draft: reminders.Draft, row: int) -> None:
        if 0 <= row < len(self.model.drafts) and self.model.drafts[row].key == draft.key:
            self.model.remove(row)
        left = len(self.model.drafts)
        self.tabs.setTabText(0, self.tr("To send (%n)", "", left))
        if left:
            self.table.selectRow(min(row, left - 1))
        else:
            self._show_current(QModelIndex())
        self._hint(
            self.tr("Recorded in %1's history.").replace("%1", draft.customer_name)
            + " "
            + self.tr("%n message(s) left.", "", left)
        )

    def _hint(self, text: str) -> None:
        self.status.setText(text)

    def _open_templates(self) -> None:
        from app.ui.drafts_templates import open_template_editor

        dialog = open_template_editor(self, self.store)
        dialog.finished.connect(lambda _code: self.refresh())


def open_drafts_dialog(parent: QWidget | None, store: Store) -> DraftsDialog:
    """Show the "messages to send today" window (non-modal) and return it."""
    dialog = DraftsDialog(store, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
