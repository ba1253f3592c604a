"""otscc-edge runtime: Qt-free, TensorFlow-free code a clinic laptop runs."""

import os as _os

__version__ = "0.1.0"

# Offline means offline: ONNX Runtime >= 1.29 ships telemetry on Linux/macOS that resolves and contacts
# mobile.events.data.microsoft.com from a background thread (caught by tests/reliability/test_offline.py).
# It is disabled only when this is set before the runtime initialises, so it is set on importing the
# package every entry point (CLI, GUI, export, training, the frozen bundle) imports first. A user's own
# explicit setting is kept.
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
