"""Reliability suite (issue 9): soak, read-only inputs, offline, determinism. docs/reliability.md."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
