"""The information window's source selector: Server, Temporary store, and each opened disc ("Media: ...").

A combo box left of the quick filters (``Alt+O`` goes to it; ``Ctrl+Alt+1`` ... ``Ctrl+Alt+9``
choose a source directly) lists the :class:`~app.services.study_sources.StudySource` objects of the
window. The window shows the studies of the chosen one (:attr:`SourceSelector.chosen`).

Local sources change without the server knowing: a timer asks the chosen source for its
:meth:`~app.services.study_sources.StudySource.changes` number every ``poll_ms`` (a count taken under
a lock, no file read) and emits :attr:`SourceSelector.stale` when it moved, e.g. when the temporary
Storage SCP received images.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from app.services.study_sources import MediaStudySource, StudySource

#: How often the chosen local source is asked whether it changed (ms).
POLL_MS = 1000


class SourceSelector(QWidget):
    """The sources of one information window, the chosen one, and a Close button for media.

    Signals
    -------
    chosen(object)
        Another :class:`StudySource` was chosen (also when the chosen one is closed).
    stale()
        The chosen source's list may have changed (its ``changes()`` moved).
    closing(object)
        A media source is about to be closed (removed from the list, then ``close()``-d).
    """

    chosen = Signal(object)
    stale = Signal()
    closing = Signal(object)

    def __init__(self, first: StudySource, parent: QWidget | None = None, poll_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.combo = QComboBox(self)
        self.combo.setObjectName("study-source")
        self.combo.setToolTip("Where the studies listed come from (Alt+O; Ctrl+Alt+1, 2, ... choose one)")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        label = QLabel("S&ource:", self)
        label.setBuddy(self.combo)
        self.close_button = QToolButton(self)
        self.close_button.setText("Close")
        self.close_button.setToolTip("Close this disc or folder: its studies leave the list")
        self.close_button.clicked.connect(self.close_current)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 0, 2)
        layout.addWidget(label)
        layout.addWidget(self.combo)
        layout.addWidget(self.close_button)
        self._sources: list[StudySource] = []
        self._seen = 0
        self.add(first)
        self.combo.currentIndexChanged.connect(self._on_index)
        self._update_close()
        self.shortcuts: list[QAction] = []
        for n in range(1, 10):
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Ctrl+Alt+{n}"))
            action.triggered.connect(lambda _checked=False, i=n - 1: self.choose_index(i))
            self.addAction(action)
            self.shortcuts.append(action)
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    # -- the list ----------------------------------------------------------------------------
    def sources(self) -> list[StudySource]:
        return list(self._sources)

    @property
    def current(self) -> StudySource:
        return self._sources[max(self.combo.currentIndex(), 0)]

    def add(self, source: StudySource, choose: bool = False) -> StudySource:
        """List ``source`` (a source already listed is not listed twice); ``choose`` makes it the current one."""
        if source not in self._sources:
            self._sources.append(source)
            self.combo.addItem(source.name)
            self.combo.setItemData(self.combo.count() - 1, source.name, Qt.ItemDataRole.ToolTipRole)
        if choose:
            self.choose(source)
        return source

    def choose(self, source: StudySource) -> None:
        self.combo.setCurrentIndex(self._sources.index(source))

    def choose_index(self, index: int) -> None:
        if 0 <= index < len(self._sources):
            self.combo.setCurrentIndex(index)

    def choose_name(self, name: str) -> StudySource:
        """Choose the source called ``name`` (KeyError when none is)."""
        source = next((s for s in self._sources if s.name == name), None)
        if source is None:
            raise KeyError(name)
        self.choose(source)
        return source

    def close_current(self) -> None:
        """Close the chosen media source (the server and the temporary store stay)."""
        source = self.current
        if isinstance(source, MediaStudySource):
            self.remove(source)

    def remove(self, source: StudySource) -> None:
        """Take ``source`` off the list and close it; the first source is chosen if it was the current one."""
        if source not in self._sources or source is self._sources[0]:
            return
        self.closing.emit(source)
        index = self._sources.index(source)
        was_current = index == self.combo.currentIndex()
        self._sources.pop(index)
        self.combo.blockSignals(True)
        try:
            self.combo.removeItem(index)
            if was_current:
                self.combo.setCurrentIndex(0)
        finally:
            self.combo.blockSignals(False)
        source.close()
        if was_current:
            self._on_index(0)  # once, whatever index the combo moved to meanwhile
        self._update_close()

    def close_all(self) -> None:
        """Stop polling and close every source (at shutdown)."""
        self.timer.stop()
        for source in self._sources:
            source.close()

    # -- changes -----------------------------------------------------------------------------
    def _on_index(self, _index: int) -> None:
        self._seen = self.current.changes()
        self._update_close()
        self.chosen.emit(self.current)

    def _update_close(self) -> None:
        self.close_button.setVisible(isinstance(self.current, MediaStudySource))

    def poll(self) -> None:
        """Emit :attr:`stale` when the chosen source's change number moved."""
        changes = self.current.changes()
        if changes != self._seen:
            self._seen = changes
            self.stale.emit()
