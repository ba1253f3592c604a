"""The rows of ``otscc self-test``: the ``Check`` record and how rows name what they test.

One labelling scheme everywhere, in the table and in ``--json``: ``BACKEND/FORMAT`` with the format's name in
``inference.formats.FORMATS`` (``litert/tflite-fp32``; ``openvino/onnx on gpu`` for an accelerator try), the same
key the reference stores its masks under. A backend named without a format (``--backends litert``) is labelled by
the format it loaded; while none is known (it could not load), by the backend alone. Each row's ``format`` field
holds the format's table name (None for a row about no model format: registration, radiomics, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.wording import plural


@dataclass
class Check:
    """One row of the table."""

    name: str
    status: str  # pass | fail | skip
    detail: str
    seconds: float = 0.0
    value: float | None = None
    format: str | None = None  #: the format-table name the row is about (``inference.formats``), if any


def seg_label(backend: str, format_name: str | None, device: str | None = None) -> str:
    """``litert/tflite-fp32``, ``openvino/onnx on gpu``; ``litert`` while the format is not known.

    Args:
        backend: backend name (``inference.backends.base.BACKENDS``).
        format_name: format-table name, None when not known yet.
        device: the device asked for, None for the backend's default.
    """
    return (f"{backend}/{format_name}" if format_name else backend) + (f" on {device}" if device else "")


def backend_text(backend) -> str:
    """A loaded backend in the same scheme, with its device and threads: ``litert/tflite-int8 on cpu (XNNPACK), 2
    threads`` (``SegBackend.summary()`` reads ``tflite-int8 on litert (...)``, a second scheme in one table)."""
    threads = f", {plural(backend.threads, 'thread')}" if backend.threads else ""
    return f"{seg_label(backend.name, backend.format_name or backend.model_file)} on {backend.device}{threads}"
