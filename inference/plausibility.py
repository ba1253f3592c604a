"""Warnings about the automatic mask itself: is what the model found plausibly a whole tongue tumor?

The pipeline still reports a risk for a doubtful mask (the user decides; a refusal would hide the images), but it
says why the mask, and so the risk, may be wrong, next to the risk (terminal, result.json, report, GUI).
"""

from __future__ import annotations

from inference.intake import tumor_coverage_warnings
from inference.measure import TumorMeasures
from inference.volume import Volume

#: A mask wider than this (largest 3D diameter) is flagged: the oral tongue itself is about 80 mm long (a brain MR
#: given as all three sequences gave a 168 mm "tumor" and a risk of 74 %).
PLAUSIBLE_DIAMETER_MM = 80

#: A mask smaller than this is flagged (one on a single slice too, whatever its volume): it is smaller than any tumor
#: the model and the nomogram were developed on. The synthetic cohorts' smallest tumors are 0.33-0.34 ml
#: (data/cohort136 and data/fresh999, truth.json), and the shipped model's smallest mask on their held-out patients
#: is 0.34 ml. Blobs of 0.11-0.13 ml were found on a sample patient whose tumor had been painted out (a reviewer's
#: test, 2026-11-30), and were scored as 1.6 % and 12.1 % without a word.
SMALL_TUMOR_ML = 0.25


def mask_warnings(prepared, mask: Volume, measures: TumorMeasures) -> list[str]:
    """Warnings for a mask that may be wrong or cut off: ``prepared`` is the patient the mask was found on
    (``inference.intake.PreparedPatient``), ``mask`` the uint8 mask on its CE-T1 grid."""
    warnings = []
    if measures.volume_ml > 0:
        warnings += tumor_coverage_warnings(prepared, mask)
        a = mask.array  # every face of the volume: axis 0 is the slice stack for DICOM, not for every file
        if any(face.any() for face in (a[0], a[-1], a[:, 0], a[:, -1], a[:, :, 0], a[:, :, -1])):
            warnings.append("the tumor found reaches the edge of the CE-T1 volume: it may extend beyond the "
                            "scanned field, so its size and the risk may be underestimated")
        if measures.volume_ml < SMALL_TUMOR_ML:
            warnings.append(f"the tumor found is very small ({measures.volume_ml:.2f} ml on {measures.slices} "
                            f"slice{'s' if measures.slices != 1 else ''}), smaller than any tumor the model and the "
                            f"nomogram were developed on: check on the images that it is a tumor; radiomics of so "
                            f"few voxels, and the risk, are unreliable")
        elif measures.slices == 1:
            warnings.append(f"the tumor found lies on a single slice ({measures.volume_ml:.2f} ml on 1 slice): check "
                            f"on the images that it is a tumor; radiomics of one slice, and the risk, are unreliable")
    if measures.largest_diameter_mm > PLAUSIBLE_DIAMETER_MM:
        warnings.append(f"the tumor found is {measures.largest_diameter_mm:.0f} mm across, more than any tongue "
                        f"tumor ({PLAUSIBLE_DIAMETER_MM} mm): check that the images are tongue MRI and the mask")
    return warnings
