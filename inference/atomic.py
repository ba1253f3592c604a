"""Atomic output files: write to a temporary name in the same folder, then ``os.replace``.

A crash mid-write (even ``kill -9``) leaves either the complete previous file or none, never a partial one:
``os.replace`` within one folder is atomic on POSIX and Windows. Temporaries are dot-files named
``.tmp-<pid>-<token>-<name>``; they never carry an output's name, so a reader can never mistake one for an
output. One left by a killed writer is removed by the next ``staged_files`` on that folder once its writer
process is gone (or it is older than ``STALE_AFTER_S``).

``staged_files`` writes a *set* of files (a patient's mask, report and result.json): every file is staged
and fsynced first, then they are renamed in staging order and the folder is fsynced. A failure while
staging leaves the previous set untouched. The renames themselves take microseconds; a kill between two
of them leaves a mixed set, which is why the last file staged should name the others' SHA-256
(``file_record``): a reader can tell a mixed set from a whole one.

Write failures the user can act on (disk full, read-only or write-protected folder) come out as
``inference.errors.OutputWriteError``: an ``OutputError`` (one readable line that names the folder and says
what to do) that is still an ``OSError`` with its errno, so callers catching ``OSError`` keep working.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from inference.errors import OutputWriteError

log = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"
#: a temporary whose writer cannot be checked (or was reused) is stale after this long
STALE_AFTER_S = 3600.0
_TMP_PID = re.compile(r"^\.tmp-(\d+)-")
#: errors that mean "this folder cannot take the file", whatever was being written
FOLDER_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM} | (
    {errno.EDQUOT} if hasattr(errno, "EDQUOT") else set())


def temp_name(name: str) -> str:
    """A temporary name for ``name`` in the same folder (unique per process and call; keeps the suffix)."""
    return f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{name}"


def is_temp(path: str | Path) -> bool:
    """True for a temporary of this module (never an output)."""
    return Path(path).name.startswith(TMP_PREFIX)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    The temporary name keeps the suffix, so writers that pick a format by extension still work.

    Args:
        path: the file to (re)place.
        durable: fsync the file before the rename and the folder after it (survives a power cut too).

    Raises:
        OutputWriteError: the folder cannot take the file (disk full, read-only, permission denied).
    """
    path = Path(path)
    tmp = path.with_name(temp_name(path.name))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        if durable:
            fsync_file(tmp)
        os.replace(tmp, path)
        if durable:
            fsync_dir(path.parent)
    except OSError as exc:
        if _about_folder(exc, path.parent) and not isinstance(exc, OutputWriteError):
            raise output_error(exc, path.parent) from exc
        raise
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    """Remove a temporary if it is there (on a read-only file system even a missing one fails: EROFS)."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        if path.exists():
            log.warning("temporary %s left behind: %s", path, exc)


def write_json(path: str | Path, data, *, durable: bool = False) -> None:
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_text(json.dumps(data, indent=2))


# -- a set of files, committed together ------------------------------------------------------------------
class StagedFiles:
    """Files staged under temporary names in one folder; ``commit`` renames them in staging order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._staged: dict[str, Path] = {}  # target name -> temporary, in staging order
        self._old: list[Path] = []  # extra links to the previous files, dropped after the renames
        self._retired: list[str] = []  # names of the previous set that the new set does not have
        #: seconds from the first rename to the last: the only time a kill can leave a mixed set
        self.window_s = 0.0

    def path(self, name: str) -> Path:
        """The temporary to write ``name`` to (the same one when asked again)."""
        if name not in self._staged:
            self._staged[name] = self.folder / temp_name(name)
        return self._staged[name]

    @property
    def staged(self) -> tuple[str, ...]:
        """Target names staged so far, in commit order."""
        return tuple(self._staged)

    def retire(self, name: str) -> None:
        """Remove ``name`` (if there) as part of the commit: a file of the previous set that this set lacks.

        E.g. ``predict --no-report`` over an earlier run: the old report.pdf would otherwise stay beside a
        mask and result.json it no longer describes. It is moved aside just before the renames, put back if
        they fail, and deleted after they succeed.
        """
        if name not in self._retired:
            self._retired.append(name)

    def record(self, name: str) -> dict:
        """``{"file", "sha256", "bytes"}`` of a staged file (what the commit marker names)."""
        return file_record(self._staged[name], name)

    def commit(self) -> dict[str, Path]:
        """fsync every staged file, rename them onto their targets in staging order, fsync the folder.

        Each previous file first gets a second (hard) link, dropped after the renames: a rename over a
        file's last link frees its blocks inside the call (measured 0.5-4 ms for 6 MB on ext4), over a
        linked one it takes about 25 microseconds, and that is the window for a mixed set. Where hard links
        are not supported (FAT/exFAT) the renames simply take longer.
        """
        for tmp in self._staged.values():
            fsync_file(tmp)  # a missing one (writer forgot it) raises here, before any rename
        # target -> its extra link; None: there was no previous file; False: there was, but no hard links here
        previous: dict[str, Path | None | bool] = {}
        for name in self._staged:
            old = self.folder / temp_name(f"old-{name}")
            existed = (self.folder / name).exists()
            try:
                os.link(self.folder / name, old)
                self._old.append(old)
                previous[name] = old
            except OSError:  # no previous file, or no hard links on this file system
                previous[name] = False if existed else None
        done: dict[str, Path | None] = {}  # None: a retired file, moved aside
        start = time.perf_counter()
        try:
            for name in (n for n in self._retired if n not in self._staged):
                aside = self.folder / temp_name(f"old-{name}")
                try:
                    os.replace(self.folder / name, aside)
                except FileNotFoundError:
                    continue
                self._old.append(aside)
                done[name], previous[name] = None, aside
            for name, tmp in self._staged.items():
                os.replace(tmp, self.folder / name)
                done[name] = self.folder / name
        except OSError:
            # e.g. report.pdf open in a viewer on Windows: put back what was already replaced, so the
            # error's "outputs left unchanged" stays true
            self._roll_back(done, previous)
            raise
        self.window_s = time.perf_counter() - start
        done = {name: path for name, path in done.items() if path is not None}
        try:
            fsync_dir(self.folder)
        except OSError as exc:  # the set is complete and consistent; only its durability is in doubt
            log.warning("outputs written to %s, but the folder could not be flushed to disk: %s", self.folder, exc)
        return done

    def _roll_back(self, done: dict[str, Path | None], previous: dict[str, Path | None | bool]) -> None:
        for name, target in done.items():
            old = previous.get(name)
            target = self.folder / name if target is None else target  # None: a retired file moved aside
            try:
                if isinstance(old, Path):
                    os.replace(old, target)
                elif old is None:
                    target.unlink(missing_ok=True)  # it did not exist before this commit
                else:  # replaced on a file system without hard links: the previous version is gone
                    log.error("%s was already replaced when the commit failed and cannot be restored (no hard "
                              "links on this file system); result.json's hashes show the set is mixed", target)
            except OSError as exc:
                log.error("could not restore %s after a failed commit: %s", target, exc)

    def discard(self) -> None:
        for tmp in [*self._staged.values(), *self._old]:
            _remove(tmp)


@contextlib.contextmanager
def staged_files(folder: str | Path) -> Iterator[StagedFiles]:
    """Stage files in ``folder`` and commit them together; on any error nothing in ``folder`` changes.

    Stale temporaries of killed writers in ``folder`` are removed first. The body writes each file to
    ``stage.path(name)`` and calls ``stage.commit()`` last; whatever was not committed is removed.

    Raises:
        OutputWriteError: the folder cannot take the files (disk full, read-only, permission denied).
    """
    folder = Path(folder)
    stage = StagedFiles(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(folder)
        yield stage
    except OSError as exc:
        if _about_folder(exc, folder) and not isinstance(exc, OutputWriteError):
            raise output_error(exc, folder) from exc
        raise
    finally:
        stage.discard()


def remove_stale_temps(folder: str | Path, *, max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove temporaries left in ``folder`` by writers that died (pid gone, or older than ``max_age_s``).

    Temporaries of live processes (another export running right now) are left alone.
    """
    removed, now = [], time.time()
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for path in entries:
        match = _TMP_PID.match(path.name)
        if match is None or not path.is_file():
            continue
        pid = int(match.group(1))
        try:
            old = now - path.stat().st_mtime > max_age_s
            if old or (pid != os.getpid() and not _pid_alive(pid)):
                path.unlink()
                removed.append(path)
        except OSError as exc:  # read-only folder, or removed meanwhile: the next write reports real trouble
            log.debug("stale temporary %s not removed: %s", path, exc)
    if removed:
        log.info("removed %d stale temporary file(s) in %s: %s", len(removed), folder,
                 ", ".join(p.name for p in removed))
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        import psutil
    except ImportError:  # cannot tell: only the age rule applies
        return True
    return psutil.pid_exists(pid)


# -- durability and hashes ------------------------------------------------------------------------------
def fsync_file(path: str | Path) -> None:
    """Flush a file's data to the disk (Windows needs a writable handle for that)."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str | Path) -> None:
    """Flush a folder's entries (the renames) to the disk; a no-op where folders cannot be opened (Windows)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):  # file systems without folder fsync
            raise
    finally:
        os.close(fd)


def file_record(path: str | Path, name: str | None = None) -> dict:
    """``{"file": name, "sha256": ..., "bytes": ...}`` of a file."""
    from inference.backends.manifest import sha256_file

    return {"file": name or Path(path).name, "sha256": sha256_file(path), "bytes": Path(path).stat().st_size}


# -- images and errors ----------------------------------------------------------------------------------
def write_image_verified(image, path: str | Path) -> None:
    """Write a SimpleITK image and read it back: SimpleITK reports a full disk as success for ``.nii.gz``
    (measured with SimpleITK 2.5: a truncated file and no exception), so the file is checked.

    Raises:
        OSError: the file could not be written completely (with the file system's errno when a test
            write in the folder reproduces the failure).
    """
    import numpy as np
    import SimpleITK as sitk

    path = Path(path)
    try:
        sitk.WriteImage(image, str(path), True)
        back = sitk.ReadImage(str(path))
        ok = back.GetSize() == image.GetSize() and np.array_equal(sitk.GetArrayViewFromImage(back),
                                                                sitk.GetArrayViewFromImage(image))
        reason = "" if ok else "the file read back differs from the image"
    except RuntimeError as exc:  # SimpleITK/ITK errors carry no errno
        ok, reason = False, " ".join(str(exc).split())[-200:]
    if ok:
        return
    _remove(path)
    nbytes = image.GetNumberOfPixels() * image.GetNumberOfComponentsPerPixel() * image.GetSizeOfPixelComponent()
    _reproduce_write_error(path.parent, min(nbytes + 352, 64 << 20))
    raise OSError(errno.EIO, f"{path.name} could not be written completely ({reason})")


def _reproduce_write_error(folder: Path, nbytes: int) -> None:
    """Write ``nbytes`` to a temporary in ``folder`` to learn the file system's errno (raised as OSError)."""
    probe = folder / temp_name("write-check")
    try:
        with open(probe, "wb") as handle:
            block = bytes(min(nbytes, 1 << 20))
            for start in range(0, nbytes, len(block)):
                handle.write(block[: nbytes - start])
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        _remove(probe)


def _about_folder(exc: OSError, folder: Path) -> bool:
    """An error that says the folder cannot take files (not, say, a missing input read inside the block)."""
    if exc.errno not in FOLDER_ERRNOS:
        return False
    if exc.filename is None:  # write()/fsync() errors carry no file name
        return True
    try:
        return Path(exc.filename).resolve().parent in (folder.resolve(), folder.resolve().parent) or \
            Path(exc.filename).resolve() == folder.resolve()
    except (OSError, RuntimeError):
        return False


def output_error(exc: OSError, folder: str | Path) -> OutputWriteError:
    """A one-line error for a failed write to ``folder``: what happened, that nothing was changed, what to do."""
    code = exc.errno
    unchanged = "outputs already in it were left unchanged"
    if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", None):
        text = (f"cannot write outputs to {folder}: the disk is full (no space left on device); {unchanged}. "
                "Free some space on that disk or choose another output folder, then write again.")
    elif code == errno.EROFS:
        text = (f"cannot write outputs to {folder}: it is on a read-only file system (a write-protected or "
                f"read-only mounted disk/share); {unchanged}. Choose a writable output folder.")
    elif code in (errno.EACCES, errno.EPERM):
        held = " or a file there is open in another program (close it)" if os.name == "nt" else ""
        text = (f"cannot write outputs to {folder}: permission denied{held}; {unchanged}. Choose a folder you can "
                "write to, or ask your administrator for write access.")
    else:
        detail = exc.strerror or str(exc)
        text = (f"cannot write outputs to {folder}: {detail}; {unchanged}. Check the folder and the disk, "
                "then write again.")
    return OutputWriteError(text, code, exc.filename)
