"""Running service calls off the UI thread, with delayed progress, cancel and one error path.

Long work (import, export, duplicate scan, backup, restore) is a service function that takes
``progress(done, total)`` and ``cancelled()`` callbacks. :func:`run_in_background` runs it on
a QThread, shows a progress dialog only if it takes longer than 400 ms, maps the callbacks to
signals, and routes success or failure back to the UI thread.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from app.services.errors import ServiceError

_running: set[Operation] = set()
SWITCH_INTERVAL = 0.0005


class _Runner(QObject):
    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str, str)

    def __init__(self, fn: Callable[..., Any], with_progress: bool) -> None:
        super().__init__()
        self.fn = fn
        self.with_progress = with_progress
        self.cancel_event = threading.Event()

    def run(self) -> None:
        try:
            if self.with_progress:
                result = self.fn(
                    progress=lambda done, total: self.progressed.emit(int(done), int(total)),
                    cancelled=self.cancel_event.is_set,
                )
            else:
                result = self.fn()
        except ServiceError as exc:
            self.failed.emit(str(exc), "")
        except Exception as exc:  # a bug: show it, with details, instead of a dead thread
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            self.succeeded.emit(result)


class Operation(QObject):
    """One background call. Keep a reference or let the module keep it until it ends."""

    finished = Signal()

    def __init__(
        self,
        parent: QWidget | None,
        fn: Callable[..., Any],
        *,
        label: str = "",
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        with_progress: bool = False,
        show_after_ms: int = 400,
    ) -> None:
        # no QObject parent: the operation (and its thread) must outlive a window that is
        # closed mid-run; it is kept alive by ``_running`` until its thread has ended
        super().__init__(None)
        self.parent_widget = parent
        self.orphaned = False
        if parent is not None:
            parent.destroyed.connect(self._parent_gone)
        self.on_done = on_done
        self.on_error = on_error
        self.thread = QThread()
        self.runner = _Runner(fn, with_progress)
        self.runner.moveToThread(self.thread)
        self.thread.started.connect(self.runner.run)
        self.runner.succeeded.connect(self._done, Qt.ConnectionType.QueuedConnection)
        self.runner.failed.connect(self._failed, Qt.ConnectionType.QueuedConnection)
        self.runner.progressed.connect(self._progress, Qt.ConnectionType.QueuedConnection)
        self.dialog: QProgressDialog | None = None
        if label:
            self.dialog = QProgressDialog(label, self.tr("Cancel"), 0, 0, parent)
            self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
            self.dialog.setMinimumDuration(show_after_ms)
            self.dialog.setAutoClose(False)
            self.dialog.setAutoReset(False)
            self.dialog.canceled.connect(self.cancel)
            self.dialog.setValue(0)
        self.cancelled_by_user = False

    def start(self) -> Operation:
        _running.add(self)
        self.thread.start()
        return self

    def cancel(self) -> None:
        self.cancelled_by_user = True
        self.runner.cancel_event.set()
        if self.dialog is not None:
            self.dialog.setLabelText(self.tr("Cancelling…"))

    def wait(self, ms: int = 30000) -> bool:
        """Block until the thread ends (tests and shutdown only)."""
        return self.thread.wait(ms)

    def _parent_gone(self, *_args: Any) -> None:
        """The window that asked is gone: cancel, and drop results nobody can show."""
        self.orphaned = True
        self.dialog = None
        self.parent_widget = None
        self.runner.cancel_event.set()

    def _progress(self, done: int, total: int) -> None:
        if self.dialog is not None:
            self.dialog.setMaximum(max(total, 0))
            self.dialog.setValue(min(done, total) if total else 0)

    def _finish(self) -> None:
        if self.dialog is not None:
            self.dialog.reset()
            self.dialog.hide()
        self.thread.quit()
        self.thread.wait()
        _running.discard(self)
        self.finished.emit()

    def _done(self, result: Any) -> None:
        self._finish()
        if self.orphaned:
            return
        if self.on_done is not None:
            self.on_done(result)

    def _failed(self, message: str, details: str) -> None:
        self._finish()
        if self.orphaned:
            return
        if self.on_error is not None:
            self.on_error(message)
            return
        box = QMessageBox(self.parent_widget)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(self.tr("Regulars"))
        box.setText(message)
        if details:
            box.setDetailedText(details)
        QTimer.singleShot(0, box.open)


def run_in_background(
    parent: QWidget | None,
    fn: Callable[..., Any],
    *,
    label: str = "",
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[str], None] | None = None,
    with_progress: bool = False,
) -> Operation:
    """Run ``fn`` off the UI thread. With ``with_progress``, ``fn`` is called with
    ``progress=`` and ``cancelled=`` keyword arguments."""
    return Operation(
        parent,
        fn,
        label=label,
        on_done=on_done,
        on_error=on_error,
        with_progress=with_progress,
    ).start()


class _LatestThread(QThread):
    """Runs the newest queued call; calls queued behind a newer one are dropped."""

    result = Signal(int, object)
    error = Signal(int, str)

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition()
        self._pending: tuple[int, Callable[[], Any]] | None = None
        self._stopping = False

    def submit(self, generation: int, fn: Callable[[], Any]) -> None:
        with self._cond:
            self._pending = (generation, fn)
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self.wait()

    def run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                generation, fn = self._pending
                self._pending = None
            try:
                value = fn()
            except ServiceError as exc:
                self.error.emit(generation, str(exc))
            except Exception as exc:  # a bug: report it instead of killing the thread
                self.error.emit(generation, f"{type(exc).__name__}: {exc}")
            else:
                self.result.emit(generation, value)


class LatestQuery(QObject):
    """One reader thread for queries where only the newest answer matters (search as you
    type, list filters): a keystroke supersedes the query still waiting, and answers to
    superseded queries are never delivered. ``fn`` must only read."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[str], None] | None]] = {}
        self._thread = _LatestThread()
        self._thread.result.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._thread.error.connect(self._fail, Qt.ConnectionType.QueuedConnection)
        # painting calls back into Python for every cell; with a reader thread busy in
        # Python, each callback may wait a whole GIL switch interval (5 ms by default)
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread.start()
        app = QCoreApplication.instance()
        if app is not None:
            # a window dropped without closing must not leave the thread running at exit
            app.aboutToQuit.connect(self.close)

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def submit(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[str], None] | None = None,
    ) -> int:
        self._generation += 1
        self._callbacks = {self._generation: (on_done, on_error)}
        self._thread.submit(self._generation, fn)
        return self._generation

    def cancel(self) -> None:
        """Drop the answer to the pending query (a newer state is already on screen)."""
        self._callbacks.clear()

    def close(self) -> None:
        self._callbacks.clear()
        if self._thread.isRunning():
            self._thread.stop()

    def _deliver(self, generation: int, value: Any) -> None:
        callbacks = self._callbacks.pop(generation, None)
        if callbacks is not None:
            callbacks[0](value)

    def _fail(self, generation: int, message: str) -> None:
        callbacks = self._callbacks.pop(generation, None)
        if callbacks is None:
            return
        if callbacks[1] is not None:
            callbacks[1](message)
        else:
            QMessageBox.warning(None, self.tr("Regulars"), message)


def wait_for_all(ms: int = 30000) -> None:
    """Cancel and wait for every running operation (on quit, and in tests)."""
    for op in list(_running):
        op.runner.cancel_event.set()
        op.wait(ms)
