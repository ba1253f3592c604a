"""Guard against PySide6 6.12.0 reference-count bugs that abort the process on CPython 3.11.

In PySide6/shiboken6 6.12.0 on CPython 3.11, every Python-side ``SignalInstance.emit(...)`` returns
``True`` without taking a reference to it, and every wrapped C++ method that returns ``None`` (``void``
methods such as ``QObject.setObjectName``, or a null pointer such as ``QObject.parent()``) returns
``None`` without one. Each call removes a reference from ``True`` or ``None``. pyqtgraph makes such calls
on every mouse move and repaint: after a few thousand of them the count reaches zero and CPython stops with
"Fatal Python error: bool_dealloc" / "none_dealloc" (while in use, or at exit). CPython 3.12+ is immune
(``None``/``True``/``False`` are immortal there) and PySide6 6.11.3 does not have the bug.

The fix is a PySide6 release without the bug. Until the project pins one, ``guard()`` detects the loss
with a probe and, only when it is present on CPython < 3.12, raises the count of each affected singleton
by 2**40: what CPython 3.12+ does for them (immortal objects). Nothing else is touched.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

PROBE_EMITS = 64
BALLAST = 1 << 40
_guarded: list[object] = []


SINGLETONS = (None, True, False)


def reference_losses() -> dict[object, int]:
    """References ``None``/``True``/``False`` lose over ``PROBE_EMITS`` rounds of typical PySide6 calls
    (a signal emit, a ``void`` method, a method returning a null pointer)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal(object)

    probe = _Probe()
    probe.ping.connect(lambda _value: None)
    before = {id(v): sys.getrefcount(v) for v in SINGLETONS}
    for i in range(PROBE_EMITS):
        probe.ping.emit(i % 2 == 0)
        probe.setObjectName("probe")
        probe.parent()
    return {v: before[id(v)] - sys.getrefcount(v) for v in SINGLETONS}


def guard() -> bool:
    """Apply the workaround when the bug is present; True when it was applied (now or before)."""
    if _guarded:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    leaking = [value for value, lost in reference_losses().items() if lost >= PROBE_EMITS // 2]
    if not leaking:
        return False
    for value in leaking:
        # ob_refcnt is the first field of every PyObject on non-free-threaded CPython < 3.12
        ctypes.c_ssize_t.from_address(id(value)).value += BALLAST
        _guarded.append(value)
    import PySide6

    log.warning("PySide6 %s loses references to %s on ordinary calls; applied the workaround "
                "(use PySide6 6.11.3 or a fixed release)", PySide6.__version__, leaking)
    return True
