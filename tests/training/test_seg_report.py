"""Learning curves and the card's training text over one, two or three training phases."""

from __future__ import annotations

import json

from training.seg.card import _aug_text, _pretrain_text, _weights_text
from training.seg.report import earlier_phases, phase_label, plot_learning_curves


def _phase(epochs: int, **train) -> dict:
    cfg = {"crop": None, "batch_size": 8, "steps_per_epoch": 50, "learning_rate": 1e-3, "model": {"size": 256},
           **train}
    return {"history": [{"epoch": e, "loss": 1.0 / e, "val_dice": 0.5 + e / 100, "seconds": 60.0 * e}
                        for e in range(1, epochs + 1)], "train": cfg}


def test_phases_old_and_new_format(tmp_path):
    final = _phase(3, tumor_contrast_aug=0.4)
    (tmp_path / "history.json").write_text(json.dumps({"history": final["history"]}))
    (tmp_path / "config.json").write_text(json.dumps({"train": final["train"]}))
    assert earlier_phases(tmp_path) == [] and _pretrain_text(tmp_path) == ""
    crops, whole = _phase(4, crop=128), _phase(5)
    (tmp_path / "history_pretrain.json").write_text(json.dumps(crops))  # one earlier phase, the first format
    assert earlier_phases(tmp_path) == [crops]
    (tmp_path / "history_pretrain.json").write_text(json.dumps({"phases": [crops, whole]}))
    assert earlier_phases(tmp_path) == [crops, whole]
    assert phase_label(crops["train"], whole["train"]) == "crops -> whole slices"
    assert phase_label(whole["train"], final["train"]) == "tumor-contrast augmentation 0.4"
    assert phase_label(whole["train"], whole["train"]) == "restart"
    rotated = _phase(2, rotation_deg=180, flip_ud=True)
    assert phase_label(whole["train"], rotated["train"]) == "rotations +/-180 deg + top-bottom flips"
    assert _aug_text(rotated["train"]) == ", rotations up to 180 degrees, top-bottom flips"
    assert _aug_text(whole["train"]) == ""
    balanced = _phase(2, rotation_deg=45, site_balance=1.0)
    assert phase_label(whole["train"], balanced["train"]) == "rotations +/-45 deg, site balance 1"
    assert _aug_text(balanced["train"]).endswith(", patients sampled by tumor site (weight n_site^-1)")
    text = _pretrain_text(tmp_path)
    assert "Phase 1 (from random initialization): batch 8 of 128-pixel crops" in text
    assert "Phase 2 (from phase 1's best weights): batch 8 of whole 256-pixel slices" in text
    assert "4 epochs in 4 min" in text and "5 epochs in 5 min" in text
    png = plot_learning_curves(tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_card_names_the_shipped_epoch_when_it_is_not_the_best_validation_one():
    history = [{"epoch": 1, "val_dice": 0.80}, {"epoch": 2, "val_dice": 0.82}, {"epoch": 3, "val_dice": 0.81}]
    best = history[1]
    assert _weights_text({}, history, best) == "best validation 3D Dice (model grid) 0.820 at its epoch 2."
    assert _weights_text({"weights": {"epoch": 2, "why": "x"}}, history, best).startswith("best validation")
    text = _weights_text({"weights": {"epoch": 3, "why": "the last epoch, by a rule set beforehand"}}, history, best)
    assert text == ("shipped weights: its epoch 3 (validation 3D Dice 0.810, model grid; best validation 3D Dice "
                    "(model grid) 0.820 at its epoch 2), the last epoch, by a rule set beforehand.")


def test_card_describes_a_cosine_keep_last_recipe(tmp_path):
    from training.seg.card import _schedule_text

    crops = _phase(3, crop=128, schedule="cosine", keep="last", min_learning_rate=2e-5)
    final = _phase(2, schedule="cosine", keep="last", min_learning_rate=2e-5)
    (tmp_path / "history_pretrain.json").write_text(json.dumps({"phases": [crops]}))
    text = _pretrain_text(tmp_path)
    assert "best validation Dice 0.530, cosine schedule, last epoch kept." in text
    assert text.endswith("The final phase starts from the previous phase's last weights.")
    assert _schedule_text(final["train"]).startswith("learning rate decayed along a cosine to 2e-05")
    assert _schedule_text({"lr_patience": 5}) == "learning rate halved after 5 epochs without validation gain"


def test_card_names_the_loss_and_an_earlier_phase_with_another(tmp_path):
    from training.seg.card import _loss_text

    assert _loss_text({}) == "soft Dice of each slice + BCE"  # configs from before --dice
    assert _loss_text({"dice": "batch"}) == "soft Dice pooled over each batch (`--dice batch`) + BCE"
    per_slice, pooled = _phase(3, crop=128), _phase(2, crop=128, dice="batch")
    (tmp_path / "history_pretrain.json").write_text(json.dumps({"phases": [per_slice, pooled]}))
    lines = _pretrain_text(tmp_path, {"dice": "batch"}).splitlines()
    assert lines[1].endswith("best validation Dice 0.530, loss soft Dice of each slice + BCE.")
    assert lines[2].endswith("best validation Dice 0.520.")
