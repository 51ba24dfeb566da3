"""The message-template editor: per kind and language, with a live preview on a real
customer and every problem (unknown placeholder, syntax, sandbox refusal) named on save."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.services import reminders, templates
from app.services.errors import ServiceError
from app.services.store import Store
from app.ui.drafts_window import kind_labels

_PREVIEW_DELAY_MS = 150


class TemplateEditorDialog(QDialog):
    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setObjectName("templateEditor")
        self.setWindowTitle(self.tr("Message templates"))
        self._values_cache: dict[tuple[int, str], dict] = {}
        self._loading = False
        self._dirty = False
        self._current: tuple[str, str] | None = None
        self._timer = QTimer(self, singleShot=True, interval=_PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.update_preview)
        self._build()
        self._load()

    # ------------------------------------------------------------ layout

    def _build(self) -> None:
        self.kind = QComboBox(objectName="templateKind")
        for kind, label in kind_labels().items():
            self.kind.addItem(label, kind)
        self.language = QComboBox(objectName="templateLanguage")
        self.language.setEditable(True)  # type a new code (it, es, ja…) to add a language
        self.language.setToolTip(self.tr("Type a language code such as it or es to add one"))
        self.origin = QLabel(objectName="templateOrigin")
        pick = QHBoxLayout()
        pick.addWidget(QLabel(self.tr("Message:")))
        pick.addWidget(self.kind, 1)
        pick.addWidget(QLabel(self.tr("Language:")))
        pick.addWidget(self.language)
        pick.addWidget(self.origin)

        self.subject = QLineEdit(objectName="templateSubject")
        self.body = QPlainTextEdit(objectName="templateBody")
        self.body.setTabChangesFocus(True)
        editor = QWidget()
        form = QFormLayout(editor)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.tr("Subject:"), self.subject)
        form.addRow(self.body)

        self.placeholders = QListWidget(objectName="templatePlaceholders")
        for name, what in templates.PLACEHOLDERS.items():
            item = QListWidgetItem(f"{{{{ {name} }}}}")
            item.setToolTip(what)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.placeholders.addItem(item)
        self.placeholders.setMaximumWidth(190)
        self.placeholders.setToolTip(self.tr("Double-click to insert at the cursor"))

        self.customer = QComboBox(objectName="previewCustomer")
        for cid, name, language in reminders.preview_customers(self.store):
            self.customer.addItem(f"{name} ({language or '—'})", cid)
        self.preview = QPlainTextEdit(objectName="templatePreview")
        self.preview.setReadOnly(True)
        preview_box = QWidget()
        pv = QVBoxLayout(preview_box)
        pv.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Preview for:")))
        row.addWidget(self.customer, 1)
        pv.addLayout(row)
        pv.addWidget(self.preview)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(editor)
        split.addWidget(self.placeholders)
        split.addWidget(preview_box)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(2, 4)

        self.errors = QLabel(objectName="templateErrors")
        self.errors.setWordWrap(True)
        self.errors.setStyleSheet("color: #b00020")
        self.status = QLabel(objectName="templateStatus")

        self.save_button = QPushButton(self.tr("&Save"), objectName="saveTemplate")
        self.reset_button = QPushButton(self.tr("&Reset to original"), objectName="resetTemplate")
        close = QPushButton(self.tr("Close"), objectName="closeTemplates")
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(pick)
        layout.addWidget(split, 1)
        layout.addWidget(self.errors)
        layout.addLayout(buttons)
        self.resize(1100, 560)

        self.kind.currentIndexChanged.connect(self._switch)
        # picking from the list switches at once; a typed code when the typing is done
        self.language.currentIndexChanged.connect(self._switch)
        self.language.lineEdit().editingFinished.connect(self._switch)
        self.customer.currentIndexChanged.connect(self.update_preview)
        self.subject.textChanged.connect(self._edited)
        self.body.textChanged.connect(self._edited)
        self.placeholders.itemDoubleClicked.connect(self._insert)
        self.save_button.clicked.connect(self.save)
        self.reset_button.clicked.connect(self.reset)
        close.clicked.connect(self.close)

    # ------------------------------------------------------------ loading

    def _fill_languages(self) -> None:
        kind = self.kind.currentData()
        custom = {t.language for t in templates.list_templates(self.store) if t.kind == kind}
        wanted = list(dict.fromkeys([*templates.SHIPPED_LANGUAGES, *sorted(custom)]))
        keep = self.language.currentText() or "en"
        self.language.blockSignals(True)
        self.language.clear()
        self.language.addItems(wanted)
        self.language.setCurrentText(keep)
        self.language.blockSignals(False)

    def _load(self) -> None:
        self._fill_languages()
        kind, language = self.kind.currentData(), self.language.currentText().strip()
        try:
            found = templates.get_template(self.store, kind, language)
        except ServiceError:
            # a language we do not ship: start from the English text
            english = templates.get_template(self.store, kind, "en")
            found = templates.Template(kind, language, english.subject, english.body, False)
        self._loading = True
        self.subject.setText(found.subject)
        self.body.setPlainText(found.body)
        self._loading = False
        self._dirty = False
        self._current = (kind, language)
        self.origin.setText(self.tr("your version") if found.custom else self.tr("original"))
        self.reset_button.setEnabled(found.custom)
        self.errors.clear()
        self.status.clear()
        self.update_preview()

    def _switch(self, *_args) -> None:
        wanted = (self.kind.currentData(), self.language.currentText().strip())
        if not wanted[1] or wanted == self._current:
            return
        if self._dirty and not self._confirm_discard():
            self._restore_selection()
            return
        self._load()

    def _confirm_discard(self) -> bool:
        answer = QMessageBox.question(
            self,
            self.tr("Unsaved changes"),
            self.tr("Discard your changes to this template?"),
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def _restore_selection(self) -> None:
        if self._current is None:
            return
        for w in (self.kind, self.language):
            w.blockSignals(True)
        self.kind.setCurrentIndex(self.kind.findData(self._current[0]))
        self.language.setCurrentText(self._current[1])
        for w in (self.kind, self.language):
            w.blockSignals(False)

    # ------------------------------------------------------------ editing

    def _edited(self) -> None:
        if self._loading:
            return
        self._dirty = True
        self.status.setText(self.tr("Not saved"))
        self._timer.start()

    def _insert(self, item: QListWidgetItem) -> None:
        self.body.insertPlainText(f"{{{{ {item.data(Qt.ItemDataRole.UserRole)} }}}}")
        self.body.setFocus()

    def _values(self) -> dict:
        cid = self.customer.currentData()
        language = self._current[1] if self._current else "en"
        if cid is None:
            return dict(templates.SAMPLE_VALUES)
        key = (cid, language)
        if key not in self._values_cache:
            self._values_cache[key] = reminders.preview_values(self.store, cid, language)
        return self._values_cache[key]

    def update_preview(self) -> None:
        """Render the text as it stands on the chosen customer; problems go below."""
        kind, language = self._current or (self.kind.currentData(), "en")
        draft = templates.Template(
            kind, language, self.subject.text(), self.body.toPlainText(), True
        )
        unknown = [p for p in templates.problems(draft.subject, draft.body) if "placeholder" in p]
        try:
            subject, body = templates.render(draft, self._values())
        except templates.TemplateError as exc:
            self.errors.setText(str(exc))
            return
        self.preview.setPlainText(self.tr("Subject: %1").replace("%1", subject) + "\n\n" + body)
        self.errors.setText("; ".join(unknown))

    def save(self) -> bool:
        kind, language = self.kind.currentData(), self.language.currentText().strip()
        try:
            templates.save_template(
                self.store, kind, language, self.subject.text(), self.body.toPlainText()
            )
        except ServiceError as exc:
            self.errors.setText(str(exc))
            self.status.setText(self.tr("Not saved"))
            return False
        self._dirty = False
        self._current = (kind, language)
        self.errors.clear()
        self.origin.setText(self.tr("your version"))
        self.reset_button.setEnabled(True)
        self.status.setText(self.tr("Saved."))
        self._fill_languages()
        return True

    def reset(self) -> None:
        kind, language = self.kind.currentData(), self.language.currentText().strip()
        templates.reset_template(self.store, kind, language)
        self._current = None
        self._load()
        self.status.setText(self.tr("Back to the original text."))

    def closeEvent(self, event) -> None:
        if self._dirty and not self._confirm_discard():
            event.ignore()
            return
        super().closeEvent(event)


def open_template_editor(parent: QWidget | None, store: Store) -> TemplateEditorDialog:
    """Show the template editor (non-modal) and return it."""
    dialog = TemplateEditorDialog(store, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
