"""PySide6 + pyqtgraph viewer (filled by the desktop issue). The only package that may import Qt."""
