"""XNNPACK delegation check: a fixed batch delegates every op; a dynamic batch leaves shape ops behind
(the transposed convolution's output shape is then computed at run time, outside XNNPACK)."""

from __future__ import annotations

import pytest

from inference.backends.litert import delegation_report, open_interpreter


def _decoder_like(batch):
    import tf_keras as keras

    inputs = keras.Input((8, 8, 3), batch_size=batch)
    x = keras.layers.UpSampling2D(2, interpolation="bilinear")(inputs)
    x = keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same")(x)
    return keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(x))


@pytest.mark.parametrize("batch,expected", [(1, True), (None, False)])
def test_delegation_report_detects_leftover_ops(tmp_path, batch, expected):
    import tensorflow as tf

    blob = tf.lite.TFLiteConverter.from_keras_model(_decoder_like(batch)).convert()
    path = tmp_path / "m.tflite"
    path.write_bytes(blob)
    report = delegation_report(open_interpreter(path, 1))
    assert report["all_ops_delegated"] is expected
    assert report["op_counts"]["RESIZE_BILINEAR"] == 1
    if not expected:
        assert {"SHAPE", "PACK", "STRIDED_SLICE"} <= set(report["undelegated_ops"]), report
    else:
        assert report["undelegated_ops"] == {} and report["delegate_partitions"] == 1
