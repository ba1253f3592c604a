"""PySide6 + pyqtgraph desktop viewer (``otscc gui``): the only package that may import Qt.

Qt-free models (no Qt import; testable without a display): ``events``, ``model`` (what the viewer shows),
``mask_edit`` (brush, undo/redo), ``session`` (patient, prediction, clinical values), ``engine`` (the jobs,
over ``inference.pipeline``), ``audit``, ``series_table``, ``nomogram_layout``.
Qt side, which only listens to the models and calls their setters: ``views/``, ``main_window``,
``actions``, ``dialogs``, ``benchmark``, ``worker`` (jobs off the GUI thread), ``errors`` (the one error
sink), ``app`` (QApplication, data folder, logging), ``commands/gui.py``.
"""
