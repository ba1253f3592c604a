"""Typed errors. Every failure a user can cause maps to one of these, with a message that names the
bad value and says what to do. The CLI prints ``str(error)`` on one line and exits non-zero.

Exit codes (each class's ``exit_code``): 1 a run that failed; 2 an input or option the user gave that cannot be
used (as argparse's usage errors); 3 an output that cannot be written; 4 a model file that fails its integrity
check; 5 a runtime that crashed; 130 cancelled."""

from __future__ import annotations


class OtsccError(Exception):
    """Base of every error this project raises on purpose.

    ``cli_hint``: advice that only makes sense on the command line ("choose with --t2 PATH"). ``str(error)``
    (what the CLI prints) ends with it; ``error.problem`` is the message without it, for the GUI.
    ``batch_hint``: the advice for a patient of a batch, where the per-patient options (--cet1/--t2/--t1) are
    refused; None when ``cli_hint`` holds there too. ``in_batch()`` is the text a batch reports.
    """

    exit_code = 1
    problem: str | None = None  # None: an error that does not take ``cli_hint`` (``str()`` is the message)
    cli_hint: str = ""
    batch_hint: str | None = None

    def __init__(self, message: str = "", *args, cli_hint: str = "", batch_hint: str | None = None) -> None:
        super().__init__(f"{message} {cli_hint}".strip() if cli_hint else message, *args)
        self.problem = message
        self.cli_hint = cli_hint
        self.batch_hint = batch_hint

    def in_batch(self) -> str:
        """The message with the advice that works for a patient of a batch."""
        if self.batch_hint is None or self.problem is None:
            return str(self)
        return f"{self.problem} {self.batch_hint}".strip()


class InputError(OtsccError):
    """The patient input cannot be used as given."""

    exit_code = 2


class ModelFolderError(InputError):
    """The model folder does not exist or holds no model (``--model``; in the app, a damaged install)."""


class PatientNotFoundError(InputError):
    """The path does not exist or holds no image files."""


class UnreadableFileError(InputError):
    """A file exists but cannot be parsed as an image (truncated, corrupt, wrong format)."""


class UnsupportedFormatError(InputError):
    """The file format or extension is not one we read."""


class MissingSequenceError(InputError):
    """One of CE-T1, T2, T1 was not found."""


class AmbiguousSequenceError(InputError):
    """More than one candidate for a sequence role; the message lists them."""

    def __init__(self, message: str, candidates: list[dict] | None = None, *, cli_hint: str = "",
                 batch_hint: str | None = None) -> None:
        super().__init__(message, cli_hint=cli_hint, batch_hint=batch_hint)
        self.candidates = candidates or []


class GeometryError(InputError):
    """Geometry that cannot be used: 2D-only, 4D, non-uniform slices, tilt, mismatched grids."""


class VolumeTooLargeError(InputError):
    """The header declares more voxels than we allow, or more bytes than the file holds."""


class InvalidPixelDataError(InputError):
    """NaN/inf or otherwise unusable intensities."""


class RegistrationError(OtsccError):
    """Rigid co-registration failed or produced an implausible result."""


class CancelledError(OtsccError):
    """The user cancelled a running job; nothing partial was written."""

    exit_code = 130


class OutputError(OtsccError):
    """Outputs cannot be written (read-only folder, inside the input folder, disk full)."""

    exit_code = 3


class ExistingResultsError(OutputError):
    """The output folder already holds results computed from other images (another patient of the same folder
    name, another study); they are not replaced unless asked (``--overwrite``, or the GUI's question)."""


class RadiomicsError(OtsccError):
    """Feature extraction failed (empty/too small mask, invalid parameters). Here, not in ``inference.radiomics``, so
    the GUI can name it without importing SimpleITK at start."""


class NothingMeasuredError(OtsccError):
    """``otscc benchmark`` measured none of the (format, runtime) pairs it was asked for: each one was skipped or
    failed (its table says why). A non-zero exit, so scripts that benchmark several laptops notice."""


class ModelIntegrityError(OtsccError):
    """A model file does not match the SHA-256 its folder's manifest.json records (changed or corrupted).

    Reinstall the model folder, or re-run ``otscc export`` to rebuild the variants and the manifest."""

    exit_code = 4


class OutputWriteError(OutputError, OSError):
    """The file system refused an output (disk full, read-only, permission denied); nothing was replaced.

    Also an ``OSError`` carrying the errno, so code that catches ``OSError`` keeps working; ``str()`` is
    the one readable line (folder, what happened, what to do)."""

    def __init__(self, message: str, code: int | None = None, filename: str | None = None) -> None:
        OSError.__init__(self, code, message, filename)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BackendCrashedError(OtsccError):
    """A model runtime killed (or hung) the child process that test-loaded a model; the model was not
    loaded in this process. The message names the backend, the model file and the signal."""

    exit_code = 5

    def __init__(self, message: str, *, backend: str = "", model: str = "", signal: str = "",
                 cli_hint: str = "") -> None:
        super().__init__(message, cli_hint=cli_hint)
        self.backend, self.model, self.signal = backend, model, signal
