"""Whether the stored self-test reference belongs to the model being tested, and what to run when it does not.

A reference (``assets/selftest``) records the SHA-256 of the model file it was made with (``made_by``) and of each
variant whose mask it stores (``masks``). ``otscc self-test --model OTHER`` or a reference written for an earlier
model cannot compare any mask; the table said "none of the backends tested segmented the sample", which sends
the user after the runtimes. These helpers name both models (file and short hash) and the command that writes a
reference for the model being tested (``python -m export.packaging.reference``, a development-checkout tool).
"""

from __future__ import annotations

from pathlib import Path

from inference.assets import DEFAULT_SEG_MODEL

WRITER = "python -m export.packaging.reference"


def short(digest: str | None) -> str:
    """The first 12 hex digits of a SHA-256, enough to tell two models apart in a message."""
    return str(digest)[:12] if digest else "no hash recorded"


def _same(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def rewrite_hint(model_dir: Path, reference_dir: Path) -> str:
    """The command that writes a reference for ``model_dir``.

    The shipped reference is rewritten only for the shipped model; for another model the hint writes a new
    folder and says to pass it with ``--reference`` (rewriting the shipped one would break the shipped model's
    self-test).
    """
    from inference.commands.self_test import SELFTEST_DIR  # here: self_test imports this module

    if _same(model_dir, DEFAULT_SEG_MODEL):
        out = "" if _same(reference_dir, SELFTEST_DIR) else f" --out {reference_dir}"
        return f"rewrite it with `{WRITER}{out}` (development checkout)"
    return (f"write one for this model with `{WRITER} --model {model_dir} --out FOLDER` (development checkout), "
            f"then run `otscc self-test --model {model_dir} --reference FOLDER`")


def file_mismatch(model_dir: Path, model_file: str, recorded: str | None) -> str | None:
    """``"made with model_fp32.tflite e19360aa7298, DIR holds 20bc1895a0fc"`` when ``model_dir``'s file is not the
    one the reference recorded (or is missing); None when it is."""
    from inference.backends.manifest import sha256_file

    path = Path(model_dir) / model_file
    if not path.is_file():
        return f"made with {model_file} {short(recorded)}, {model_dir} has no {model_file}"
    digest = sha256_file(path)
    if digest == recorded:
        return None
    return f"made with {model_file} {short(recorded)}, {model_dir} holds {short(digest)}"


def other_model(reference: dict, model_dir: Path) -> str | None:
    """Why the reference belongs to another model than ``model_dir``'s, or None when it is this model's.

    Checks the model file the reference was made with, then the file of every stored variant mask present in
    ``model_dir`` (a variant that is not installed is not this question: its row says it is missing).
    """
    made = reference.get("made_by", {})
    mismatch = file_mismatch(model_dir, str(made.get("model_file")), made.get("model_sha256"))
    if mismatch is not None:
        return f"the stored reference is for another model ({mismatch})"
    for key, entries in sorted(reference.get("masks", {}).items()):
        for entry in entries if isinstance(entries, list) else []:
            name = str(entry.get("model_file"))
            if (Path(model_dir) / name).is_file():
                mismatch = file_mismatch(model_dir, name, entry.get("model_sha256"))
                if mismatch is not None:
                    return f"the stored mask of {key} is for another model ({mismatch})"
    return None


def nothing_compared(reference: dict, model_dir: Path, reference_dir: Path) -> str | None:
    """Detail of the ``segment (any backend)`` row when no segmentation passed because the reference is another
    model's; None when it is this model's (then the backends themselves are the problem)."""
    why = other_model(reference, model_dir)
    if why is None:
        return None
    return f"no mask could be compared: {why}; {rewrite_hint(model_dir, reference_dir)}"
