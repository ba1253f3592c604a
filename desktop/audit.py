"""The GUI's audit log (Qt-free): ``inference.audit`` with the pseudonym key kept in the user data folder.

The entries, the hash chain and ``verify`` are ``inference.audit``'s (the CLI writes the same format).
"""

from __future__ import annotations

import os
from pathlib import Path

from inference.audit import KEY_ENV, KEY_NAME, AuditError, VerifyReport, audit_entry, file_sha256_or_none, model_sha256
from inference.audit import AuditLog as _AuditLog

__all__ = ["AuditError", "AuditLog", "VerifyReport", "audit_entry", "file_sha256_or_none", "model_sha256"]


class AuditLog(_AuditLog):
    """``inference.audit.AuditLog`` whose key defaults to ``pseudonym.key`` beside the log.

    The GUI's log lives in the user data folder, which is where the CLI looks for the key too, so both
    give a patient the same pseudonym.
    """

    def __init__(self, path: str | Path, *, key_file: str | Path | None = None) -> None:
        if key_file is None:  # $OTSCC_EDGE_KEY_FILE wins here too, so the CLI and the GUI agree
            key_file = os.environ.get(KEY_ENV) or Path(path).parent / KEY_NAME
        super().__init__(path, key_file=key_file)
