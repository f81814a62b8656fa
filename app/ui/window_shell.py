"""The workstation window's shell: menus, toolbar, context menu of the selection, side panels.

:class:`WindowShell` is the part of the main window other features hook into (documented in
:mod:`app.ui.main_window`): ``menu(name)``, ``add_study_action(...)``, ``add_panel(...)`` and
``make_action(...)``. It knows nothing of studies except that a subclass can tell whether some are
selected (:meth:`WindowShell.has_selection`), which enables the actions on the selection.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QMainWindow, QMenu, QWidget

Shortcut = QKeySequence | QKeySequence.StandardKey | str

#: The menus of the window, in menu-bar order.
MENUS = ("File", "Study", "View", "Help")


class WindowShell(QMainWindow):
    """A main window with the menus File, Study, View, Help, one toolbar and side panels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._menus: dict[str, QMenu] = {name: self.menuBar().addMenu(f"&{name}") for name in MENUS}
        self.toolbar = self.addToolBar("Studies")
        self.toolbar.setObjectName("studies-toolbar")
        self.context_menu = QMenu(self)
        self._selection_actions: list[QAction] = []
        self.setDockNestingEnabled(True)

    def has_selection(self) -> bool:
        """Whether the actions on the selection apply now (a subclass says)."""
        return False

    def make_action(self, text: str, slot: object, shortcut: Shortcut | None = None, tip: str = "") -> QAction:
        """An action of this window with ``text`` calling ``slot``; ``tip`` shows in the status bar."""
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip or text.rstrip("."))
        action.triggered.connect(slot)
        return action

    def menu(self, name: str) -> QMenu:
        """The menu ``name`` (File, Study, View, Help); another name adds a menu before Help."""
        if name not in self._menus:
            menu = QMenu(f"&{name}", self)
            self.menuBar().insertMenu(self._menus["Help"].menuAction(), menu)
            self._menus[name] = menu
        return self._menus[name]

    def add_study_action(self, action: QAction, menu: str = "Study", toolbar: bool = False) -> QAction:
        """Add an action on the selection to ``menu``, the context menu and (optionally) the toolbar;
        it is enabled only while something is selected."""
        self.menu(menu).addAction(action)
        self.context_menu.addAction(action)
        if toolbar:
            self.toolbar.addAction(action)
        self._selection_actions.append(action)
        action.setEnabled(self.has_selection())
        return action

    def update_selection_actions(self) -> None:
        """Enable the actions on the selection when there is one."""
        selected = self.has_selection()
        for action in self._selection_actions:
            action.setEnabled(selected)

    def add_panel(
        self, title: str, widget: QWidget, area: Qt.DockWidgetArea = Qt.DockWidgetArea.LeftDockWidgetArea
    ) -> QDockWidget:
        """Add a side panel: a dock widget tabified with the other panels of ``area``, with a
        toggle in the View menu."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"panel-{title.lower().replace(' ', '-')}")
        dock.setWidget(widget)
        others = [d for d in self.findChildren(QDockWidget) if d is not dock and self.dockWidgetArea(d) == area]
        self.addDockWidget(area, dock)
        if others:
            self.tabifyDockWidget(others[-1], dock)
        self.menu("View").addAction(dock.toggleViewAction())
        return dock

    def show_context_menu(self, view: QAbstractItemView, pos: QPoint) -> None:
        """The context menu of the selection at ``pos`` of ``view`` (nothing without a selection)."""
        if self.has_selection():
            self.context_menu.popup(view.viewport().mapToGlobal(pos))
