"""What Qt answers through ICU (collation, locale case mapping, time-zone names, codecs, a file dialog): run
by test_bundle.py once with the virtualenv's full ICU data and once with the bundle's slim library preloaded."""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QCollator, QLocale, QStringConverter, QStringDecoder, QTimer, QTimeZone  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog, QListView  # noqa: E402

app = QApplication([])
out = {}
words = ["apple", "Äpfel", "zebra", "Ångström", "file10", "file9", "čaj", "東京"]
for loc in ("en_US", "de_DE", "sv_SE", "cs_CZ", "ja_JP"):
    collator = QCollator(QLocale(loc))
    collator.setNumericMode(True)
    out[f"compare {loc}"] = [collator.compare(a, b) for a in words for b in words]
out["upper tr"] = QLocale("tr_TR").toUpper("istanbul")
zone = QTimeZone(b"Europe/Berlin")
out["zone names"] = [zone.displayName(QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName, QLocale(loc))
                     for loc in ("de_DE", "en_US")]
out["shift-jis"] = QStringDecoder("Shift_JIS").isValid()
out["codecs"] = len(QStringConverter.availableCodecs())
dialog = QFileDialog(None, "open", sys.argv[1])
dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)  # Qt's own dialog: sorts with QCollator
dialog.show()
QTimer.singleShot(1000, app.quit)
app.exec()
view = dialog.findChild(QListView, "listView")
root = view.rootIndex()
out["dialog listing"] = [view.model().index(i, 0, root).data() for i in range(view.model().rowCount(root))]
print(json.dumps(out, ensure_ascii=False))
