"""DICOM series as real exports get them wrong or unusual: inverted grey scale, mixed pixel spacing, a slice stored
twice, links out of the patient folder."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import pytest

from inference import dicom
from inference.errors import GeometryError, UnreadableFileError
from tests.inference.dicom_factory import cet1_spec, write_study


@pytest.mark.parametrize(("signed", "bits", "slope", "intercept"), [
    (True, 16, 1.0, 0.0), (True, 16, 1.5, -10.0), (False, 16, 1.0, 0.0), (False, 12, 2.0, 5.0)])
def test_a_monochrome1_series_reads_in_monochrome2_convention(tmp_path: Path, signed, bits, slope, intercept) -> None:
    """MONOCHROME1 (highest value black) arrives as ``max + min - value`` over the series: tissue bright, the values'
    range kept. GDCM's own inversion gave negative values, and a CE-T1 of negative values was called blank."""
    spec = cet1_spec(n_slices=40, rows=16, cols=16, slope=slope, intercept=intercept)  # 40: more than one ITK read
    written = write_study(tmp_path, [spec], extra_tags={
        "PhotometricInterpretation": "MONOCHROME1", "PixelRepresentation": int(signed), "BitsStored": bits,
        "HighBit": bits - 1})[spec.number]
    stored = written.stored.astype(np.int64) + 100  # MONOCHROME2 values, all positive (an unsigned pixel)
    inverted = stored.max() + stored.min() - stored  # the same image as a MONOCHROME1 scanner stores it
    for k, path in enumerate(written.files):
        ds = pydicom.dcmread(path)
        ds.PixelData = inverted[k].astype("<u2" if not signed else "<i2").tobytes()
        ds.save_as(path)
    series, _ = dicom.scan_folder(tmp_path)

    volume = dicom.read_series(series[0])

    assert np.allclose(volume.array, stored * slope + intercept, atol=1e-3)


def test_signed_monochrome1_in_fewer_stored_bits_is_refused_by_name(tmp_path: Path) -> None:
    """GDCM cannot decode it: its internal message was reported as 'truncated or corrupt file?'."""
    spec = cet1_spec(n_slices=4, rows=16, cols=16)
    write_study(tmp_path, [spec], extra_tags={"PhotometricInterpretation": "MONOCHROME1", "PixelRepresentation": 1,
                                              "BitsStored": 12, "HighBit": 11})
    series, _ = dicom.scan_folder(tmp_path)
    with pytest.raises(UnreadableFileError, match=r"signed MONOCHROME1 .* stored in 12 of 16 bits"):
        dicom.read_series(series[0])


def test_images_of_one_series_with_different_pixel_spacing_are_refused(tmp_path: Path) -> None:
    """The first image's PixelSpacing stood for the whole series: an image of another pixel size was placed wrong."""
    written = write_study(tmp_path, [cet1_spec()])[7]
    ds = pydicom.dcmread(written.files[3])
    ds.PixelSpacing = [0.5, 0.5]
    ds.save_as(written.files[3])
    series, _ = dicom.scan_folder(tmp_path)

    with pytest.raises(GeometryError, match=r"series #7 \(12 images\): its images have different PixelSpacing "
                                            r"\(0\.8/0\.9 mm in 11 images; 0\.5/0\.5 mm in 1 image\)"):
        dicom.read_series(series[0])


def test_pixel_spacings_that_differ_only_in_how_they_were_written_are_one_spacing(tmp_path: Path) -> None:
    """0.46875 and 0.468749 (one scanner's DS strings) rounded to 4 decimals fall apart: a tolerance, not rounding."""
    written = write_study(tmp_path, [cet1_spec()])[7]
    for i, f in enumerate(written.files):
        ds = pydicom.dcmread(f)
        ds.PixelSpacing = ["0.46875", "0.46875"] if i % 2 else ["0.468749", "0.468749"]
        ds.save_as(f)
    series, _ = dicom.scan_folder(tmp_path)
    dicom.read_series(series[0])  # no GeometryError


def _store_again(source: Path, target: Path, *, change_pixels: bool = False) -> None:
    """``source`` stored again as ``target`` under a new SOPInstanceUID (as a re-export or an anonymiser does)."""
    ds = pydicom.dcmread(source)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    if change_pixels:
        ds.PixelData = (ds.pixel_array // 2).astype("<i2").tobytes()
    ds.save_as(target)


def test_a_slice_stored_twice_is_dropped_with_a_note_not_called_4d(tmp_path: Path) -> None:
    """One file copied under another SOPInstanceUID (same position, same pixels) was '13 images at 12 positions:
    a 4D series'."""
    written = write_study(tmp_path, [cet1_spec()])[7]
    _store_again(written.files[5], tmp_path / "copy of IM0006.dcm")
    series, _ = dicom.scan_folder(tmp_path)

    volume = dicom.read_series(series[0])

    assert volume.geometry.size[2] == 12
    assert np.allclose(volume.array, written.values, atol=1e-3)
    assert any("1 image repeats another image of the series (same position and pixels" in w
               for w in series[0].warnings)


def test_two_different_images_at_one_position_are_still_refused(tmp_path: Path) -> None:
    written = write_study(tmp_path, [cet1_spec()])[7]
    _store_again(written.files[5], tmp_path / "other.dcm", change_pixels=True)
    series, _ = dicom.scan_folder(tmp_path)

    with pytest.raises(GeometryError, match="13 images at 12 positions"):
        dicom.read_series(series[0])


def test_a_4d_series_keeps_its_message(tmp_path: Path) -> None:
    write_study(tmp_path, [cet1_spec(images_per_position=2)])
    series, _ = dicom.scan_folder(tmp_path)

    with pytest.raises(GeometryError, match=r"24 images at 12 positions \(~2 per position\): a 4D series"):
        dicom.read_series(series[0])


def test_a_link_to_a_folder_above_the_patient_is_not_followed(tmp_path: Path) -> None:
    """A ``..`` link in a patient folder made the reader walk the sibling patients (their series were offered as
    this patient's); links to series folders elsewhere are still followed."""
    write_study(tmp_path / "batch" / "other patient", [cet1_spec(number=9)])
    write_study(tmp_path / "store" / "t2 series", [cet1_spec(number=4)])
    patient = tmp_path / "batch" / "patient"
    write_study(patient, [cet1_spec()])
    (patient / "up").symlink_to("..", target_is_directory=True)
    (patient / "self").symlink_to(".", target_is_directory=True)
    (patient / "series elsewhere").symlink_to(tmp_path / "store", target_is_directory=True)

    series, notes = dicom.scan_folder(patient)

    assert sorted(s.number for s in series) == ["4", "7"]
    assert "1 link to the patient folder or a folder above it not followed" in " ".join(notes)  # "self": a loop


def test_the_batch_looks_into_linked_folders_as_the_reader_does(tmp_path: Path) -> None:
    """A skipped batch folder whose DICOM lies in a linked series folder was said to hold no images."""
    from inference.commands.predict import holds_images

    write_study(tmp_path / "store" / "series", [cet1_spec()])
    (tmp_path / "patient").mkdir()
    (tmp_path / "patient" / "series").symlink_to(tmp_path / "store" / "series", target_is_directory=True)

    assert holds_images(tmp_path / "patient")


def test_in_a_batch_a_link_to_another_patient_folder_is_not_this_patients_series(tmp_path: Path) -> None:
    """Patient A's link to patient B's folder (or into it) made B's series A's; links elsewhere are still followed."""
    from inference.folders import other_patients

    batch = tmp_path / "batch"
    write_study(batch / "A", [cet1_spec(number=7)])
    write_study(batch / "B" / "study", [cet1_spec(number=9)])
    write_study(tmp_path / "store" / "series", [cet1_spec(number=4)])
    (batch / "A" / "to B").symlink_to(batch / "B", target_is_directory=True)
    (batch / "A" / "into B").symlink_to(batch / "B" / "study", target_is_directory=True)
    (batch / "A" / "elsewhere").symlink_to(tmp_path / "store", target_is_directory=True)
    (batch / "A" / "own").symlink_to(batch / "A", target_is_directory=True)  # a loop, as before

    assert sorted(s.number for s in dicom.scan_folder(batch / "A")[0]) == ["4", "7", "9"]  # one patient: followed
    with other_patients([batch / "A", batch / "B"]):
        series, notes = dicom.scan_folder(batch / "A")
        assert sorted(s.number for s in dicom.scan_folder(batch / "B")[0]) == ["9"]  # B's own folder is walked

    assert sorted(s.number for s in series) == ["4", "7"]
    assert "2 links to another patient folder of the batch not followed" in " ".join(notes)


def test_a_batch_walks_each_patient_without_the_other_patients_folders(tmp_path: Path, monkeypatch) -> None:
    from inference.cli import main
    from inference.commands import predict
    from inference.errors import InputError

    batch = tmp_path / "batch"
    for name in ("A", "B"):
        write_study(batch / name, [cet1_spec(number=7 if name == "A" else 9)])
        (batch / name / "clinical.json").write_text("{}")
    (batch / "A" / "to B").symlink_to(batch / "B", target_is_directory=True)
    seen = {}

    def scan_only(pipeline, folder, *args, **kwargs):
        seen[folder.name] = sorted(s.number for s in dicom.scan_folder(folder)[0])
        raise InputError("scanned only")

    monkeypatch.setenv("OTSCC_EDGE_DATA_DIR", str(tmp_path / "userdata"))
    monkeypatch.setattr(predict, "_predict_one", scan_only)
    assert main(["predict", str(batch), "--out", str(tmp_path / "out"), "--backend", "litert"]) == 1
    assert seen == {"A": ["7"], "B": ["9"]}


def test_a_patient_whose_series_is_behind_a_link_not_followed_is_told_why_it_is_missing(tmp_path: Path) -> None:
    """In a batch, A's T2 linked from B's folder is not followed (it is B's); A then failed with "no T2" and nothing
    said that a link had been skipped."""
    from inference.errors import MissingSequenceError
    from inference.folders import other_patients
    from inference.io import load_patient
    from tests.inference.dicom_factory import t1_spec, t2_spec

    batch = tmp_path / "batch"
    write_study(batch / "A", [cet1_spec(number=7), t1_spec(number=8)])
    write_study(batch / "B", [cet1_spec(number=9), t2_spec(number=10), t1_spec(number=11)])
    (batch / "A" / "t2 from B").symlink_to(batch / "B", target_is_directory=True)
    with other_patients([batch / "A", batch / "B"]), pytest.raises(MissingSequenceError) as caught:
        load_patient(batch / "A")
    assert "1 link to another patient folder of the batch not followed" in str(caught.value)
    assert "not followed" in caught.value.in_batch()


def test_links_are_judged_by_the_folder_they_reach_not_by_its_spelling(tmp_path: Path, monkeypatch) -> None:
    """On macOS a link to ``../b`` reaches folder ``B`` and its real path keeps the link's spelling, so comparing
    paths let it past the checks; here ``realpath`` is made to keep spellings as such a file system does."""
    import os

    from inference import folders

    batch = tmp_path / "batch"
    for name in ("A", "B"):
        write_study(batch / name, [cet1_spec(number=7 if name == "A" else 9)])
    (batch / "A" / "to B").symlink_to(Path("..") / "B", target_is_directory=True)
    (batch / "A" / "up").symlink_to(Path(".."), target_is_directory=True)
    (batch / "A" / "own").mkdir()  # a real sub-folder: walked, never called a link
    (batch / "A" / "own" / "note.txt").write_text("x")
    monkeypatch.setattr(folders.os.path, "realpath", os.path.abspath)
    skipped = Counter()
    with folders.other_patients([batch / "A", batch / "B"]):
        files = [p.relative_to(batch / "A").as_posix() for p in folders.walk_files(batch / "A", skipped)]
    assert skipped == {folders.OTHER_PATIENT_LINK: 1, folders.ANCESTOR_LINK: 1}
    assert "own/note.txt" in files and not [f for f in files if f.startswith(("to B", "up"))]
