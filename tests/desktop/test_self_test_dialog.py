"""Help > Self-test runs a child process and reports pass/fail (a stand-in command keeps the test fast)."""

from __future__ import annotations

import sys

import pytest

from desktop.self_test import SelfTestDialog

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("code, word", [(0, "PASSED"), (3, "FAILED")])
def test_dialog_reports_the_exit_code(qtbot, code, word):
    script = f"print('check  ok'); import sys; sys.exit({code})"
    dialog = SelfTestDialog(command=[sys.executable, "-c", script])
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.exit_code is not None, timeout=20000)
    assert dialog.exit_code == code and word in dialog.status.text()
    assert "check  ok" in dialog.output.toPlainText()


def test_help_menu_has_self_test(window):
    help_menu = next(m for m in (a.menu() for a in window.menuBar().actions()) if m.title() == "&Help")
    assert window.actions["self_test"] in help_menu.actions()
