"""Stage 1 model, data pipeline and training loop on tiny configurations."""

from __future__ import annotations

import gc
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.errors import InputError
from training.seg import data
from training.seg.model import ModelConfig, build_model, count_macs
from training.seg.train import TrainConfig, _augment_config, train

REPO = Path(__file__).resolve().parents[2]
TINY = TrainConfig(model=ModelConfig(alpha=0.35, size=64), epochs=2, steps_per_epoch=3, batch_size=4,
                   patience=5, seed=3)


@pytest.mark.parametrize("decoder", ["light", "pix2pix"])
def test_model_io_shapes(decoder):
    model = build_model(ModelConfig(alpha=0.35, size=256, decoder=decoder))
    assert model.input_shape == (None, 256, 256, 3)
    assert model.output_shape == (None, 256, 256, 1)
    fixed = build_model(ModelConfig(alpha=0.35, size=64, decoder=decoder), batch_size=1)
    out = fixed(np.zeros((1, 64, 64, 3), np.float32)).numpy()
    assert out.shape == (1, 64, 64, 1) and np.all((out >= 0) & (out <= 1))


def test_mac_count_matches_published_pix2pix_figure():
    """The tutorial's decoder at alpha 1.0: ~2.3 GMACs per 256x256 slice, ~85% in the decoder."""
    model = build_model(ModelConfig(alpha=1.0, size=256, decoder="pix2pix"))
    total, encoder = count_macs(model), count_macs(model.get_layer("encoder"))
    assert 2.1e9 < total < 2.5e9
    assert 0.80 < 1 - encoder / total < 0.90
    light = count_macs(build_model(ModelConfig(alpha=1.0, size=256, decoder="light")))
    assert light < 0.35 * total



def test_head_skip_starts_from_a_plain_models_weights_and_computes_the_same(tmp_path):
    plain = build_model(ModelConfig(alpha=0.35, size=64))
    rng = np.random.default_rng(0)
    path = str(tmp_path / "plain.weights.h5")
    plain.save_weights(path)
    config = ModelConfig(alpha=0.35, size=64, head_skip=True)
    assert ModelConfig.from_dict(config.to_dict()).head_skip is True
    assert ModelConfig.from_dict({"alpha": 0.35, "size": 64}).head_skip is False  # older config.json files
    skip = build_model(config, init_weights=path)
    assert skip.get_layer("head").get_weights()[0].shape == (3, 3, 32 + 3, 1)
    x = rng.random((2, 64, 64, 3), np.float32)
    expected = plain(x, training=False).numpy()
    assert np.isfinite(expected).all() and expected.std() > 1e-4
    np.testing.assert_allclose(skip(x, training=False).numpy(), expected, atol=1e-6)
    # the skip is live: weights on the input channels change the output
    kernel, bias = skip.get_layer("head").get_weights()
    kernel[:, :, 32:, :] = 0.5
    skip.get_layer("head").set_weights([kernel, bias])
    assert np.abs(skip(x, training=False).numpy() - expected).max() > 1e-3
    # weights of a different network are still refused, with or without head_skip, naming the fix (and the
    # weights' own folder config when there is one)
    with pytest.raises(InputError, match="do not fit"):
        build_model(ModelConfig(alpha=0.5, size=64, head_skip=True), init_weights=path)
    (tmp_path / "config.json").write_text(json.dumps({"train": {"model": {"alpha": 0.35, "decoder": "light",
                                                                          "size": 64}}}))
    with pytest.raises(InputError, match=r"alpha 0\.5.*config\.json says alpha 0\.35.*--alpha"):
        build_model(ModelConfig(alpha=0.5, size=64), init_weights=path)
    with pytest.raises(ValueError, match="light decoder"):
        build_model(ModelConfig(alpha=0.35, size=64, decoder="pix2pix", head_skip=True))

def test_split_is_patient_level_deterministic_and_reused(tmp_path):
    ids = [f"P{i:03d}" for i in range(40)]
    a, b = data.make_split(ids, 1), data.make_split(ids, 1)
    assert a == b and a != data.make_split(ids, 2)
    assert sorted(a["train"] + a["validation"] + a["test"]) == ids
    assert not set(a["train"]) & set(a["test"])
    path = tmp_path / "split.json"
    first = data.load_or_make_split(path, ids, 1)
    assert data.load_or_make_split(path, ids, 99) == first  # stored split wins over a new seed


def test_batches_are_deterministic_and_oversample_tumor():
    rng = np.random.default_rng(0)
    mask = np.zeros((20, 32, 32), np.uint8)
    mask[9:11, 10:20, 10:20] = 1  # tumor on 2 of 20 slices
    case = data.Case("X", rng.random((20, 32, 32, 3)).astype(np.float16), mask)
    one = list(data.batches([case], 4, 3, seed=7, aug=data.AugmentConfig()))
    two = list(data.batches([case], 4, 3, seed=7, aug=data.AugmentConfig()))
    for (x1, y1), (x2, y2) in zip(one, two, strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    picks = list(data.sample_slices([case], 2000, np.random.default_rng(1), tumor_fraction=0.6))
    share = np.mean([zi in (9, 10) for _, zi, _ in picks])
    assert 0.55 < share < 0.72  # 0.6 oversampled + 0.4 * 2/20 by chance


def test_site_balancing_evens_out_tumor_sites(tmp_path):
    sites = ["lateral"] * 6 + ["ventral"] * 2 + ["dorsal"]
    ids = [f"P{i}" for i in range(len(sites))]
    for pid, site in zip(ids, sites, strict=True):
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "truth.json").write_text(json.dumps({"site": site}))
    assert data.site_weights(tmp_path, ids, 0.0) is None  # uniform over patients, the default sampling
    p = data.site_weights(tmp_path, ids, 1.0)
    per_site = {s: p[[x == s for x in sites]].sum() for s in set(sites)}
    assert all(abs(v - 1 / 3) < 1e-12 for v in per_site.values())
    half = data.site_weights(tmp_path, ids, 0.5)
    assert half[0] < half[6] < half[8] and abs(half.sum() - 1) < 1e-12  # rarer site, more weight per patient
    rng = np.random.default_rng(0)
    cases = [data.Case(pid, np.zeros((2, 8, 8, 3), np.float16), np.zeros((2, 8, 8), np.uint8)) for pid in ids]
    picks = [ci for ci, _, _ in data.sample_slices(cases, 3000, rng, case_p=p)]
    assert abs(np.mean([sites[ci] == "lateral" for ci in picks]) - 1 / 3) < 0.04  # 2/3 without balancing
    (tmp_path / "P0" / "truth.json").write_text("{}")
    with pytest.raises(InputError, match="no tumor site"):
        data.site_weights(tmp_path, ids, 1.0)


def test_augmentation_keeps_image_and_mask_aligned():
    img = np.zeros((64, 64, 3), np.float32)
    msk = np.zeros((64, 64), np.float32)
    img[20:40, 25:45, :] = 0.8
    msk[20:40, 25:45] = 1
    aug_img, aug_msk = data.augment(img, msk, np.random.default_rng(4),
                                    data.AugmentConfig(bias_field=0, intensity_jitter=0, noise_sd=0,
                                                       gamma_range=(1, 1)))
    bright = aug_img[..., 0] > 0.4
    assert (bright & (aug_msk > 0)).sum() / max(1, aug_msk.sum()) > 0.9


def _augmented_tumor_centres(cfg, n=40):
    img = np.zeros((64, 64, 3), np.float32)
    msk = np.zeros((64, 64), np.float32)
    img[8:20, 28:36, :] = 0.8  # a tumor in the top half, off-centre
    msk[8:20, 28:36] = 1
    centres = []
    for seed in range(n):
        aug_img, aug_msk = data.augment(img, msk, np.random.default_rng(seed), cfg)
        bright = aug_img[..., 0] > 0.4
        assert (bright & (aug_msk > 0)).sum() / max(1, aug_msk.sum()) > 0.9  # image and mask stay aligned
        ys, xs = np.nonzero(aug_msk)
        centres.append((ys.mean(), xs.mean()))
    return np.array(centres)


def test_rotation_and_top_bottom_flip_move_the_tumor_anywhere_in_the_slice():
    still = dict(bias_field=0, intensity_jitter=0, noise_sd=0, gamma_range=(1, 1))
    default = _augmented_tumor_centres(data.AugmentConfig(**still))
    assert (default[:, 0] < 32).all()  # +/-10 degrees and left-right flips keep it in the top half
    anywhere = _augmented_tumor_centres(data.AugmentConfig(**still, max_rotation_deg=180, flip_ud=True))
    assert (anywhere[:, 0] > 32).sum() >= 10 and (anywhere[:, 0] < 32).sum() >= 10
    flipped = _augmented_tumor_centres(data.AugmentConfig(**still, max_rotation_deg=0, flip_lr=False, flip_ud=True))
    assert 10 <= (flipped[:, 0] > 32).sum() <= 30  # mirrored top-bottom in about half the slices
    # the training options reach the augmentation (and round-trip through config.json)
    cfg = TrainConfig.from_dict(TrainConfig(rotation_deg=180, flip_ud=True).to_dict())
    aug = _augment_config(cfg)
    assert (aug.max_rotation_deg, aug.flip_ud) == (180, True)
    assert (_augment_config(TrainConfig()).max_rotation_deg, _augment_config(TrainConfig()).flip_ud) == (10, False)


def test_tumor_contrast_augmentation_fades_the_tumor_on_one_sequence_only():
    img = np.full((64, 64, 3), 0.3, np.float32)
    tumor = np.zeros((64, 64), bool)
    tumor[20:40, 25:45] = True
    img[tumor] = (0.9, 0.8, 0.35)
    for channel in (0, 1):
        out = data.lower_tumor_contrast(img, tumor, channel, kept=0.25)
        core = out[25:35, 30:40]
        assert np.allclose(core[..., channel], 0.3 + 0.25 * (img[25, 30, channel] - 0.3), atol=0.01)
        other = [c for c in range(3) if c != channel]
        np.testing.assert_array_equal(out[..., other], img[..., other])
        np.testing.assert_array_equal(out[:10], img[:10])  # far from the tumor nothing changes
    empty = np.zeros((64, 64), bool)
    assert data.lower_tumor_contrast(img, empty, 0, 0.0) is img
    picked = {int(np.argmax(np.abs(data.augment(img, tumor.astype(np.float32), np.random.default_rng(seed), cfg)[0]
                                   - img)[tumor].mean(axis=0)[:2]))
              for seed in range(12) for cfg in [data.AugmentConfig(
                  bias_field=0, intensity_jitter=0, noise_sd=0, gamma_range=(1, 1), max_rotation_deg=0,
                  scale_range=(1, 1), flip_lr=False, tumor_contrast_p=1.0)]}
    assert picked == {0, 1}  # CE-T1 or T2, never T1


@pytest.fixture(scope="module")
def trained(tiny_cohort, tiny_stack_cache, tmp_path_factory):
    """One tiny training (``TINY``: 2 epochs) shared by the tests that read a trained folder: its folder, summary and
    printed output. Tests that change the folder work on a copy (``_copy``)."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("trained") / "model"
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        summary = train(tiny_cohort, out, TINY, cache_dir=tiny_stack_cache)
    return out, summary, said.getvalue()


def _copy(folder: Path, to: Path) -> Path:
    import shutil

    return Path(shutil.copytree(folder, to))


def test_tiny_training_end_to_end_and_resume(tiny_cohort, trained, tiny_stack_cache, tmp_path, capsys, caplog):
    out = _copy(trained[0], tmp_path / "model")
    summary, said = trained[1], trained[2]
    assert summary["epochs_run"] == 2
    # after each epoch, what is left of the run (it said only "epoch 1/2")
    assert "  left: at most 1 epoch, ~" in said and "  left: nothing (the planned epochs are done)" in said
    for name in ("config.json", "split.json", "best.weights.h5", "history.json"):
        assert (out / name).exists(), name
    # loadable: the Keras backend rebuilds the network from plain config + weights
    from inference.backends import load_backend

    backend = load_backend("keras", out)
    probs = backend.predict(np.random.default_rng(0).random((2, 64, 64, 3), dtype=np.float32))
    assert probs.shape == (2, 64, 64) and np.isfinite(probs).all()
    # resume: two more epochs continue from the checkpoint instead of starting over
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        again = train(tiny_cohort, out, TrainConfig(**{**TINY.__dict__, "epochs": 3}), resume=True,
                      cache_dir=tiny_stack_cache)
        gc.collect()  # TensorFlow warns about a partly restored checkpoint when its restore status is collected
    assert "unrestored values" not in caplog.text and "could not be found in the restored" not in caplog.text
    history = json.loads((out / "history.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3] and again["epochs_run"] == 3
    best = max(history[:2], key=lambda h: h["val_dice"])
    assert (f"resuming {out} from epoch 2 (best validation Dice {best['val_dice']:.4f} at epoch {best['epoch']}); "
            "changed: --epochs 2 -> 3") in capsys.readouterr().out


def test_cosine_schedule_keep_last_and_reused_split(tiny_cohort, tiny_stack_cache, tmp_path):
    from training.seg.train import cosine_learning_rate

    cfg = TrainConfig(**{**TINY.__dict__, "epochs": 3, "schedule": "cosine", "keep": "last", "dice": "batch",
                         "learning_rate": 1e-3, "min_learning_rate": 1e-5})
    assert cosine_learning_rate(cfg, 0) == pytest.approx(1e-3)
    assert cosine_learning_rate(cfg, 1) == pytest.approx((1e-3 + 1e-5) / 2)
    assert cosine_learning_rate(cfg, 2) == pytest.approx(1e-5)
    first = tmp_path / "first"
    data.load_or_make_split(first / "split.json", data.list_patients(tiny_cohort), seed=11)  # another seed's split
    out = tmp_path / "cosine"
    summary = train(tiny_cohort, out, cfg, split_from=first / "split.json", cache_dir=tiny_stack_cache)
    assert summary["epochs_run"] == 3
    split = json.loads((out / "split.json").read_text())
    assert {k: split[k] for k in ("train", "validation", "test")} == {
        k: json.loads((first / "split.json").read_text())[k] for k in ("train", "validation", "test")}
    history = json.loads((out / "history.json").read_text())["history"]
    assert [h["learning_rate"] for h in history] == pytest.approx([1e-3, (1e-3 + 1e-5) / 2, 1e-5], rel=1e-5)
    stored = json.loads((out / "config.json").read_text())
    assert stored["weights"]["epoch"] == 3
    assert stored["train"]["dice"] == "batch"
    # the kept weights are the last epoch's: the same as the (last) checkpoint's
    import tensorflow as tf

    from inference.backends import load_backend

    last = build_model(cfg.model)
    tf.train.Checkpoint(model=last).restore(tf.train.latest_checkpoint(str(out / "ckpt"))).expect_partial()
    x = np.random.default_rng(1).random((1, 64, 64, 3), dtype=np.float32)
    assert np.allclose(load_backend("keras", out).predict(x), last.predict(x, verbose=0)[..., 0], atol=1e-6)
    with pytest.raises(InputError, match="split file not found"):
        train(tiny_cohort, tmp_path / "missing", cfg, split_from=tmp_path / "nope.json")


def test_batch_dice_pools_the_slices_of_a_batch_and_sample_dice_does_not():
    from training.seg.train import LOSSES

    # two 4x4 slices: a 4-pixel tumor found exactly, and a slice without tumor with one false-positive pixel
    y_true = np.zeros((2, 4, 4, 1), np.float32)
    y_true[0, :2, :2] = 1
    y_pred = y_true.copy()
    y_pred[1, 3, 3] = 1
    sample = np.asarray(LOSSES["sample"](y_true, y_pred))
    batch = np.asarray(LOSSES["batch"](y_true, y_pred))
    # per slice: 1 - (2*4 + 1)/(8 + 1) = 0 and 1 - (0 + 1)/(1 + 1) = 0.5 (eps 1); the first slice's BCE is ~0
    assert sample[0] == pytest.approx(0.0, abs=1e-4)
    assert sample[1] > 0.5
    # pooled: 1 - (2*4 + 1)/(4 + 5 + 1) = 0.1, the same Dice term for every slice; the BCE terms are the same
    assert batch - sample == pytest.approx([0.1, 0.1 - 0.5], abs=1e-5)


def test_crop_training_validates_and_exports_at_full_size(tiny_cohort, tmp_path):
    out = tmp_path / "crop"
    cfg = TrainConfig(**{**TINY.__dict__, "model": ModelConfig(alpha=0.35, size=96), "crop": 64, "epochs": 1})
    assert train(tiny_cohort, out, cfg)["epochs_run"] == 1
    from inference.backends import load_backend

    assert load_backend("keras", out).predict(np.zeros((1, 96, 96, 3), np.float32)).shape == (1, 96, 96)


def test_litert_fp32_export_matches_keras(tiny_cohort, trained, tmp_path, capsys):
    from inference.backends import load_backend
    from training.seg.export_tflite import export_fp32

    out = _copy(trained[0], tmp_path / "model")
    export_fp32(out)
    batch = np.random.default_rng(2).random((3, 64, 64, 3), dtype=np.float32)
    keras_probs = load_backend("keras", out).predict(batch)
    lite = load_backend("litert", out, threads=1)
    assert lite.max_batch == 1  # fixed batch for XNNPACK
    np.testing.assert_allclose(lite.predict(batch), keras_probs, atol=2e-4)
    # eval-seg on the model's own test split, masks written on each patient's CE-T1 grid
    import SimpleITK as sitk

    from inference.cli import main

    masks = tmp_path / "masks"
    assert main(["eval-seg", "--model", str(out), "--cohort", str(tiny_cohort), "--save-masks", str(masks),
                 "--json"]) == 0
    test_ids = json.loads((out / "split.json").read_text())["test"]
    for pid in test_ids:
        written = sitk.ReadImage(str(masks / f"{pid}.nii.gz"))
        reference = sitk.ReadImage(str(tiny_cohort / pid / "cet1.nii.gz"))
        assert written.GetSize() == reference.GetSize()
        assert np.allclose(written.GetOrigin(), reference.GetOrigin(), atol=1e-3)
    assert main(["eval-seg", "--model", str(out), "--cohort", str(tmp_path), "--split", "test"]) == 2
    # the cohort is an input: masks are never written into it
    before = sorted(p.relative_to(tiny_cohort) for p in tiny_cohort.rglob("*"))
    assert main(["eval-seg", "--model", str(out), "--cohort", str(tiny_cohort), "--save-masks",
                 str(tiny_cohort / "masks")]) == 3
    assert sorted(p.relative_to(tiny_cohort) for p in tiny_cohort.rglob("*")) == before
    # a damaged model: one line and the input-error exit code, not an h5py / LiteRT traceback
    (out / "best.weights.h5").write_bytes((out / "best.weights.h5").read_bytes()[:4096])
    capsys.readouterr()
    assert main(["eval-seg", "--model", str(out), "--cohort", str(tiny_cohort), "--backend", "keras"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("otscc eval-seg: error:") and "weights cannot be loaded" in err and "Traceback" not in err


@pytest.mark.slow
def test_mirrored_strategy_over_two_cpu_devices(tiny_cohort, tiny_stack_cache, tmp_path):
    code = f"""
import os, json
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from training.seg.model import ModelConfig
from training.seg.train import TrainConfig, _augment_config, train
cfg = TrainConfig(model=ModelConfig(alpha=0.35, size=64), epochs=1, steps_per_epoch=2, batch_size=4,
                  strategy="mirrored", seed=1)
s = train({str(tiny_cohort)!r}, {str(tmp_path / 'mirrored')!r}, cfg, cache_dir={str(tiny_stack_cache)!r})
print("REPLICAS", tf.distribute.MirroredStrategy().num_replicas_in_sync, json.dumps(s["epochs_run"]))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "REPLICAS 2 1" in result.stdout


@pytest.mark.xfail(strict=True, reason="issue 4 item 8 unmet: the shipped model's fp32 file under-segments the sample "
                   "patient's ventral tumor, Dice 0.471 (its default int8 variant 0.485; the model shipped before it "
                   "0.798); strict, so a model that passes makes this test fail until the marker is removed")
def test_shipped_model_segments_the_sample_patient():
    """The committed model must find the sample patient's tumor (Dice >= 0.8 on its CE-T1 grid, fp32 file)."""
    from inference.assets import DEFAULT_SEG_MODEL, SAMPLE_PATIENT
    from inference.backends import load_backend
    from inference.intake import prepare_patient
    from inference.segment import segment
    from training.seg.metrics import dice

    assert (DEFAULT_SEG_MODEL / "model_fp32.tflite").is_file(), "no shipped model in assets/models/seg"
    prepared = prepare_patient(SAMPLE_PATIENT)
    result = segment(prepared.volumes, load_backend("litert", DEFAULT_SEG_MODEL))
    assert dice(result.mask.array, prepared.patient.mask.array) >= 0.8
