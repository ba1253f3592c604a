"""What the converters share: the float model, its configuration and cohort slices, loaded once and lazily.

Calibration and quantization-aware fine-tuning use patients of the model's *training* split
(``split.json``), prepared by the runtime's own code (``inference.intake`` + ``inference.preprocess`` via
``training.seg.data.prepare_case``), so quantization ranges come from exactly what the product feeds the
model. Validation uses the *test* split (``export/validate.py``).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from export.steps import FormatSkipped
from inference.errors import InputError
from inference.preprocess import ModelGrid
from inference.tf_env import prepare_tensorflow_env

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportSettings:
    calibration_patients: int = 8  #: training-split patients sampled for int8 calibration / QAT
    calibration_slices: int = 160  #: slices fed to the int8 calibrators (half of them with tumor)
    qat_steps: int = 40  #: quantization-aware fine-tuning steps (bounded: it is a short touch-up)
    qat_batch: int = 8
    qat_learning_rate: float = 1e-5
    seed: int = 0
    threads: int | None = None  #: CPU threads for checks run during export


@dataclass
class ExportContext:
    model_dir: Path
    out_dir: Path
    cohort: Path | None = None
    settings: ExportSettings = field(default_factory=ExportSettings)

    def __post_init__(self) -> None:
        prepare_tensorflow_env()  # before the converters import TensorFlow
        self.model_dir, self.out_dir = Path(self.model_dir), Path(self.out_dir)
        config_file = self.model_dir / "config.json"
        if not config_file.is_file() or not (self.model_dir / "best.weights.h5").is_file():
            raise InputError(f"{self.model_dir}: not a model folder (needs config.json and best.weights.h5)")
        self.config_data = json.loads(config_file.read_text())

    @cached_property
    def model_config(self):
        from training.seg.model import ModelConfig

        return ModelConfig.from_dict(self.config_data["train"]["model"])

    @property
    def size(self) -> int:
        return self.model_config.size

    @property
    def grid(self) -> ModelGrid:
        return ModelGrid(self.size, float(self.config_data["train"].get("fov_mm", 160.0)))

    def build_float(self, batch_size: int | None = 1):
        """The float tf-keras model with the shipped weights (batch fixed to 1 for export by default)."""
        from training.seg.model import build_model

        model = build_model(self.model_config, batch_size=batch_size)
        weights = self.model_dir / "best.weights.h5"
        try:
            model.load_weights(str(weights))
        except (OSError, ValueError) as exc:  # h5py: truncated, not HDF5; a shape mismatch with config.json
            raise InputError(f"{weights}: the float model's weights cannot be loaded ({exc}); the file is damaged "
                             "or belongs to another configuration, so no variant can be built") from exc
        return model

    @cached_property
    def float_model(self):
        return self.build_float(1)

    @cached_property
    def work_dir(self) -> Path:
        """Scratch space for intermediates (removed by ``cleanup``); never inside the model folder."""
        return Path(tempfile.mkdtemp(prefix="otscc-export-"))

    @cached_property
    def float_saved_model(self) -> Path:
        """The float model as a fixed-shape SavedModel, the common source of the TensorFlow conversions."""
        from export.saved_model import save_serving_model

        return save_serving_model(self.float_model, self.work_dir / "float_saved_model", self.size)

    def cleanup(self) -> None:
        if "work_dir" in self.__dict__:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def split(self) -> dict:
        path = self.model_dir / "split.json"
        if not path.is_file():
            raise InputError(f"{path}: the model has no stored split; calibration and validation need one")
        return json.loads(path.read_text())

    @cached_property
    def training_cases(self) -> list:
        """Prepared training-split patients (images + masks on the model grid)."""
        from training.seg.data import prepare_case

        if self.cohort is None:
            raise FormatSkipped("needs --cohort: int8 calibration uses slices of the training split")
        ids = self.split()["train"][: self.settings.calibration_patients]
        missing = [pid for pid in ids if not (self.cohort / pid).is_dir()]
        if missing:
            raise FormatSkipped(f"{self.cohort} lacks training patients {missing[:3]}: is it the training cohort?")
        log.info("preparing %d training patients for calibration", len(ids))
        return [prepare_case(self.cohort / pid, self.grid) for pid in ids]

    @cached_property
    def calibration(self) -> np.ndarray:
        """(N, S, S, 3) float32 slices: half with tumor, half anywhere, deterministic for the seed."""
        rng = np.random.default_rng(self.settings.seed)
        cases = self.training_cases
        per_case = max(2, self.settings.calibration_slices // len(cases))
        slices = []
        for case in cases:
            tumor = case.tumor_slices
            n_tumor = min(len(tumor), per_case // 2)
            picks = list(rng.choice(tumor, n_tumor, replace=False)) if n_tumor else []
            rest = [z for z in range(case.images.shape[0]) if z not in set(picks)]
            picks += list(rng.choice(rest, min(len(rest), per_case - n_tumor), replace=False))
            slices.extend(case.images[int(z)].astype(np.float32) for z in picks)
        return np.stack(slices[: self.settings.calibration_slices])

    def calibration_shortfall(self) -> str | None:
        """A note when int8 calibration (or QAT) used fewer training patients or slices than the settings ask for (a
        small training split, short volumes), else None; also None when no format needed them."""
        wanted = self.settings
        patients = len(self.__dict__["training_cases"]) if "training_cases" in self.__dict__ else None
        slices = len(self.__dict__["calibration"]) if "calibration" in self.__dict__ else None
        short_patients = patients is not None and patients < wanted.calibration_patients
        short_slices = slices is not None and slices < wanted.calibration_slices
        if not (short_patients or short_slices):
            return None
        used = ", ".join(part for part in (f"{slices} slices" if slices is not None else "",
                                           f"{patients} training-split patients" if patients is not None else "")
                         if part)
        asked = ", ".join(part for part in (
            f"--calibration-slices {wanted.calibration_slices}" if slices is not None else "",
            f"--calibration-patients {wanted.calibration_patients}" if patients is not None else "") if part)
        if short_patients:
            why = f"the training split has {patients} patients"
        elif patients:
            why = (f"at most {max(2, wanted.calibration_slices // patients)} slices are sampled per patient, fewer "
                   "from a short volume")
        else:
            why = "the training volumes held fewer slices"
        return f"int8 calibration/QAT used {used}, fewer than asked ({asked}): {why}"

    def representative_dataset(self):
        """Generator for the TFLite converter: one (1, S, S, 3) slice at a time."""
        for slice_ in self.calibration:
            yield [slice_[None]]
