"""Menus, toolbar and shortcuts of the main window (one table per menu; every action is also reachable by
keyboard)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QToolBar

from desktop.model import LAYOUTS, SEQUENCE_LABELS, SEQUENCES, TOOLS

if TYPE_CHECKING:
    from desktop.main_window import MainWindow


def _action(window: MainWindow, text: str, slot, shortcut: str | QKeySequence.StandardKey | None = None,
            tip: str = "", checkable: bool = False) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({keys})" if keys else tip)  # the toolbar shows no shortcuts otherwise
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    return action


def build_actions(w: MainWindow) -> dict[str, QAction]:
    """Create the menu bar and toolbar of ``w``; returns the actions by name (tests trigger them)."""
    m, s = w.model, w.session
    a: dict[str, QAction] = {}
    a["open"] = _action(w, "&Open patient...", w.open_dialog, QKeySequence.StandardKey.Open,
                        "Open a patient folder (NIfTI/NRRD/MHA files or DICOM)")
    a["export"] = _action(w, "&Export results...", lambda: w.export(), "Ctrl+E",
                          "Write mask.nii.gz, result.json and report.pdf to a folder outside the patient folder")
    a["choose_sequences"] = _action(w, "Choose &sequences...", w.choose_sequences, None,
                                    "Say which series is CE-T1, T2 and T1 when the automatic choice is wrong")
    a["close_patient"] = _action(w, "&Close patient", w.close_patient, QKeySequence.StandardKey.Close,
                                 "Close the open patient and free its memory (exported files stay)")
    a["quit"] = _action(w, "&Quit", w.close, QKeySequence.StandardKey.Quit)
    a["segment"] = _action(w, "&Segment", w.segment, "Ctrl+R", "Run the model, radiomics and the nomogram")
    a["cancel"] = _action(w, "&Cancel", w.cancel, "Esc", "Stop the running job")
    a["undo"] = _action(w, "&Undo", lambda: s.editor and s.editor.undo(), QKeySequence.StandardKey.Undo,
                        "Undo the last mask edit")
    a["redo"] = _action(w, "&Redo", lambda: s.editor and s.editor.redo(), QKeySequence.StandardKey.Redo,
                        "Redo the mask edit undone last")
    a["recompute"] = _action(w, "Recompute &risk", w.recompute, "Ctrl+Return",
                             "Re-extract radiomics from the edited mask and update the risk")
    a["recompute"].setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])  # the keypad's too
    for name, button in (("undo", w.mask_panel.undo_button), ("redo", w.mask_panel.redo_button),
                         ("recompute", w.mask_panel.recompute_button)):
        button.setToolTip(a[name].toolTip())  # with the platform's shortcut
    # one state for both (the panel's button, set apart, said "nothing to recompute" while Ctrl+Return reran it)
    a["recompute"].enabledChanged.connect(w.mask_panel.recompute_button.setEnabled)
    tools = QActionGroup(w)
    for tool, key in zip(TOOLS, ("N", "P", "E"), strict=True):
        a[tool] = _action(w, tool.capitalize(), lambda _=False, t=tool: m.set_tool(t), key,
                          {"navigate": "Click: crosshair, drag: window/level", "paint": "Paint the tumor mask",
                           "erase": "Erase from the tumor mask"}[tool], checkable=True)
        tools.addAction(a[tool])
    m.events.tool.connect(lambda: a[m.tool].setChecked(True))
    a[m.tool].setChecked(True)
    a["overlay"] = _action(w, "Show &mask overlay", lambda on: m.set_overlay(visible=on), "M", checkable=True)
    a["overlay"].setChecked(m.overlay_visible)
    m.events.overlay.connect(lambda: a["overlay"].setChecked(m.overlay_visible))
    a["reset_wl"] = _action(w, "Reset &window/level", lambda: m.reset_contrast(), "R",
                            "Back to the percentile-based default window/level")
    a["fit"] = _action(w, "&Fit views", w.viewer.fit_all, "F", "Reset zoom and pan")
    a["identifiers"] = _action(w, "Show patient &identifiers", m.set_show_identifiers, checkable=True,
                               tip="Show the patient's folder name or ID (hidden by default)")
    layouts = QActionGroup(w)
    for layout, text, key in zip(LAYOUTS, ("&Orthogonal planes", "&Side by side (CE-T1 | T2 | T1)"),
                                 ("O", "S"), strict=True):
        a[layout] = _action(w, text, lambda _=False, lay=layout: m.set_layout(lay), key, checkable=True)
        layouts.addAction(a[layout])
    a[m.layout].setChecked(True)
    m.events.layout.connect(lambda: a[m.layout].setChecked(True))
    for i, role in enumerate(SEQUENCES, start=1):
        a[f"show_{role}"] = _action(w, SEQUENCE_LABELS[role], lambda _=False, r=role: m.set_sequence(r), str(i))
    a["settings"] = _action(w, "&Backend and threads...", w.show_settings)
    a["about"] = _action(w, "&About otscc-edge", w.show_about)
    a["log"] = _action(w, "Open &log", w.show_log)
    a["benchmark"] = _action(w, "&Benchmark this device", w.show_benchmark)
    a["self_test"] = _action(w, "&Self-test", w.show_self_test)

    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(a["open"])
    w.recent_menu = file_menu.addMenu("&Recent patients")
    file_menu.addAction(a["export"])
    file_menu.addAction(a["choose_sequences"])
    file_menu.addAction(a["close_patient"])
    file_menu.addSeparator()
    file_menu.addAction(a["quit"])
    edit = bar.addMenu("&Edit")
    for name in ("undo", "redo", None, *TOOLS, None, "recompute"):
        edit.addSeparator() if name is None else edit.addAction(a[name])
    view = bar.addMenu("&View")
    sequence_menu = view.addMenu("Se&quence")
    for role in SEQUENCES:
        sequence_menu.addAction(a[f"show_{role}"])
    for name in (*LAYOUTS, None, "overlay", "reset_wl", "fit", None, "identifiers"):
        view.addSeparator() if name is None else view.addAction(a[name])
    run = bar.addMenu("&Run")
    run.addAction(a["segment"])
    run.addAction(a["cancel"])
    bar.addMenu("&Settings").addAction(a["settings"])
    help_menu = bar.addMenu("&Help")
    for name in ("about", "log", "benchmark", "self_test"):
        help_menu.addAction(a[name])
    _toolbar(w, a)
    w._rebuild_recent_menu()
    return a


def _toolbar(w: MainWindow, a: dict[str, QAction]) -> None:
    m = w.model
    bar = QToolBar("Main")
    bar.setObjectName("mainToolbar")
    bar.setMovable(False)
    w.addToolBar(bar)
    # The workflow first, Recompute risk with it (after a mask edit it is the next step; at the end of the bar it
    # folded into the overflow menu on a 1280 px screen, as Export did before): the end of the bar may fold away.
    for name in ("open", "segment", "recompute", "cancel", "export"):
        bar.addAction(a[name])
    bar.addSeparator()
    bar.addWidget(QLabel(" Sequence "))
    combo = QComboBox()
    combo.setObjectName("sequenceCombo")
    for role in SEQUENCES:
        combo.addItem(SEQUENCE_LABELS[role], role)
    combo.currentIndexChanged.connect(lambda i: m.set_sequence(SEQUENCES[i]))
    m.events.sequence.connect(lambda: combo.setCurrentIndex(SEQUENCES.index(m.sequence)))
    bar.addWidget(combo)
    w.sequence_combo = combo
    for name in ("orthogonal", "side_by_side", None, "reset_wl", "fit", "overlay", None, *TOOLS, None, "undo",
                 "redo"):
        bar.addSeparator() if name is None else bar.addAction(a[name])
    # short labels on the toolbar only: the menus keep their full texts and underlined access keys
    for name, label in (("open", "Open"), ("export", "Export"), ("orthogonal", "Orthogonal"),
                        ("side_by_side", "Side by side"), ("overlay", "Mask (M)"), ("reset_wl", "Reset W/L"),
                        ("fit", "Fit"), ("recompute", "Recompute risk")):
        a[name].setIconText(label)


def sync_actions(w: MainWindow) -> None:
    """Enable what the window's state allows: nothing that starts a job while one runs, and no mask edit while a
    job that replaces the mask runs (``Session.editing_locked``)."""
    s, busy, a = w.session, w.runner.busy, w.actions
    has_patient, has_mask = s.prepared is not None, s.editor is not None
    a["open"].setEnabled(not busy)
    a["settings"].setEnabled(not busy)  # a backend change waits for the running job (it may be loading one)
    a["close_patient"].setEnabled(has_patient and not busy)
    a["choose_sequences"].setEnabled(has_patient and not busy)
    a["segment"].setEnabled(has_patient and not busy)
    a["cancel"].setEnabled(busy)
    a["export"].setEnabled(s.prediction is not None and not busy)
    w.clinical_panel.setEnabled(w.runner.current != "load")  # it shows the previous patient meanwhile
    # as the panel's button: with nothing changed it reran radiomics and wrote an audit entry for nothing
    a["recompute"].setEnabled(has_mask and not busy and (s.mask_changed or s.prediction is None))
    a["undo"].setEnabled(has_mask and s.editor.can_undo)  # False while locked
    a["redo"].setEnabled(has_mask and s.editor.can_redo)
    a["navigate"].setEnabled(has_mask)
    for name in ("paint", "erase"):
        a[name].setEnabled(s.can_edit)
    w.progress.segment_button.setEnabled(a["segment"].isEnabled())
    w.progress.cancel_button.setEnabled(busy)
    w.mask_panel.recompute_button.setEnabled(a["recompute"].isEnabled())
    w.recent_menu.setEnabled(not busy)
