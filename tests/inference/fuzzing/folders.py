"""Malformed patient folders: random mixes of valid and broken pieces a real export (or a user) leaves.

A case is a list of items written in order into ``<root>/patient``, plus optional ``--cet1/--t2/--t1``
overrides; the entry point is ``load_patient``. ``<root>/outside`` holds a valid image, a DICOM series and
a marked raw file that symlinks may point at.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from tests.inference.fuzzing.dicoms import DicomCase, dicom_cases, write_dicom_case
from tests.inference.fuzzing.images import (
    NiftiCase,
    TextImageCase,
    mostly,
    nifti_bytes,
    nifti_cases,
    outside_folder,
    text_image_cases,
    text_image_files,
)

ROLE_NAMES = ("cet1", "t2", "t1", "T1_Gd", "t2w", "t1pre", "T1C", "mask", "label", "seg", "image_a", "CET1",
              "t1 post", "t2.fse")
EXTENSIONS = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".NII.GZ", ".txt", ".nii.bak", ".gz", "")
KINDS = ("image", "bad_image", "trio", "dicom", "dicom_copy", "empty", "junk", "role_dir", "symlink_loop",
         "symlink_self", "symlink_dangling", "symlink_outside_file", "symlink_outside_dir", "symlink_cycle",
         "symlink_device", "fifo", "unreadable", "deep_dicom")
OVERRIDES = ("7", "3", "4", "999", "1.2.3.garbage", "{patient}/cet1.nii.gz", "{patient}/t1.nrrd", "{outside}",
             "{outside}/outside.nii.gz", "{patient}/missing.nii", "{patient}", "{patient}/S7", "/dev/null", "")


@dataclass(frozen=True)
class Item:
    """One thing in the folder: ``kind`` (see ``KINDS``), a role-like ``name``, an extension, a variant."""

    kind: str
    name: str = "cet1"
    ext: str = ".nii.gz"
    variant: int = 0
    image: NiftiCase | TextImageCase | None = None  # bad_image: the mutated file
    dicom: DicomCase | None = None  # dicom: the (possibly mutated) series


@dataclass(frozen=True)
class FolderCase:
    items: tuple[Item, ...] = ()
    overrides: tuple[tuple[str, str], ...] = ()  # (role, value) for load_patient


def _write_image(folder: Path, stem: str, ext: str, variant: int) -> None:
    shape = ((8, 6, 4), (8, 6, 5))[variant % 2]
    low = ext.lower()
    if low in (".nrrd", ".nhdr", ".mha", ".mhd"):
        fmt = "nrrd" if "nr" in low or "nh" in low else "mha"
        text_image_files(TextImageCase(fmt=fmt, detached=low in (".nhdr", ".mhd")), folder, stem, extras=False)
        return
    data = nifti_bytes(NiftiCase(shape=shape, gz=low.endswith(".gz"), dtype=("int16", "float32")[variant % 2]))
    (folder / f"{stem}{ext}").write_bytes(data)


def _small_study(case: DicomCase | None, folder: Path, variant: int) -> None:
    """Three series (T1, T2, CE-T1) of 3 slices; ``case`` mutates the CE-T1 series."""
    from tests.inference.dicom_factory import t1_spec, t2_spec, write_study

    write_study(folder, [t1_spec(n_slices=3, rows=8, cols=8), t2_spec(n_slices=3, rows=8, cols=8)],
                naming=("sequential", "random", "nested")[variant % 3], seed=variant)
    write_dicom_case(case or DicomCase(n_slices=3, size=8), folder / "S7")


def _symlink(link: Path, target: str | Path) -> None:
    if not link.exists() and not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, link)


def _free(patient: Path, name: str, index: int) -> Path:
    """``patient/name``, or a prefixed name when an earlier item took that one."""
    path = patient / name
    return patient / f"x{index}_{name}" if path.exists() or path.is_symlink() else path


def write_item(item: Item, patient: Path, index: int) -> None:
    name = f"{item.name}{item.ext}"
    path = _free(patient, name, index)
    kind = item.kind
    if kind == "image":
        _write_image(patient, path.name[: len(path.name) - len(item.ext)] if item.ext else path.name, item.ext,
                     item.variant)
    elif kind == "bad_image":
        if isinstance(item.image, NiftiCase):
            _free(patient, f"{item.name}{item.image.suffix}", index).write_bytes(nifti_bytes(item.image))
        elif item.image is not None:
            stem = item.name if not any(patient.glob(f"{item.name}.*")) else f"x{index}_{item.name}"
            text_image_files(item.image, patient, stem, extras=False)
    elif kind == "trio":
        for role in ("cet1", "t2", "t1"):
            _write_image(patient, role, EXTENSIONS[item.variant % 3], item.variant)
    elif kind in ("dicom", "deep_dicom"):
        folder = patient / (f"study{index}" if kind == "dicom" else "/".join(f"d{k}" for k in range(30)))
        _small_study(item.dicom, folder, item.variant)
    elif kind == "dicom_copy":
        studies = sorted(p for p in patient.iterdir() if p.name.startswith("study") and p.is_dir())
        if not studies:
            _small_study(None, patient / f"study{index}", item.variant)
            studies = [patient / f"study{index}"]
        shutil.copytree(studies[0], patient / f"copy{index}", symlinks=True)
    elif kind == "empty":
        path.touch()
    elif kind == "junk":
        path.write_bytes(bytes((i * 31 + item.variant) % 256 for i in range(64 * (item.variant % 5))))
    elif kind == "role_dir":
        path.mkdir()
        _write_image(path, "cet1", ".nii.gz", item.variant)
    elif kind == "symlink_loop":
        _symlink(path, f"loop{index}{item.ext}")
        _symlink(patient / f"loop{index}{item.ext}", name)
    elif kind == "symlink_self":
        _symlink(path, path.name)
    elif kind == "symlink_dangling":
        _symlink(path, "no_such_file.nii.gz")
    elif kind == "symlink_outside_file":
        _symlink(path, patient.parent / "outside" / ("outside.nii.gz", "secret.raw")[item.variant % 2])
    elif kind == "symlink_outside_dir":
        _symlink(patient / f"link{index}", patient.parent / "outside")
    elif kind == "symlink_cycle":
        _symlink(patient / f"up{index}", ("..", ".", str(patient))[item.variant % 3])
    elif kind == "symlink_device":
        _symlink(path, ("/dev/zero", "/dev/null", "/dev/stdin", "/dev/urandom")[item.variant % 4])
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "unreadable":
        _write_image(patient, path.name[: len(path.name) - len(item.ext)] if item.ext else path.name, item.ext,
                     item.variant)
        for child in patient.glob(f"{path.name}*"):
            child.chmod(0)


def build_folder(case: FolderCase, root: Path) -> dict:
    patient, outside = root / "patient", outside_folder(root, 384)
    patient.mkdir(parents=True)
    (outside / "outside.nii.gz").write_bytes(nifti_bytes(NiftiCase(gz=True)))
    for index, item in enumerate(case.items):
        with contextlib.suppress(OSError):  # an item that clashes with an earlier one (a folder of that name)
            write_item(item, patient, index)
    kwargs = {}
    for role, value in case.overrides:
        kwargs[role] = value.replace("{patient}", str(patient)).replace("{outside}", str(outside))
    return {"entry": "patient", "path": str(patient), "kwargs": kwargs}


def _items() -> st.SearchStrategy[Item]:
    plain = st.builds(Item, kind=st.sampled_from(KINDS), name=st.sampled_from(ROLE_NAMES),
                      ext=st.sampled_from(EXTENSIONS), variant=st.integers(0, 11))
    bad = st.builds(Item, kind=st.just("bad_image"), name=st.sampled_from(ROLE_NAMES),
                    image=nifti_cases() | text_image_cases("nrrd") | text_image_cases("mha"))
    study = st.builds(Item, kind=st.just("dicom"), variant=st.integers(0, 5), dicom=st.none() | dicom_cases())
    return st.one_of(plain, plain, bad, study)


def folder_cases() -> st.SearchStrategy[FolderCase]:
    base = st.sampled_from([(Item("trio"),), (Item("dicom"),), ()])
    extra = st.lists(_items(), max_size=5).map(tuple)
    overrides = mostly((), st.lists(st.tuples(st.sampled_from(("cet1", "t2", "t1")), st.sampled_from(OVERRIDES)),
                                    min_size=1, max_size=2, unique_by=lambda o: o[0]).map(tuple))
    return st.builds(FolderCase, items=st.builds(lambda a, b: a + b, base, extra), overrides=overrides)
