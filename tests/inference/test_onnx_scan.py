"""ONNX external data and OpenVINO file paths: nothing outside the model folder reaches a runtime.

Crafted models are built with the ``onnx`` package (train extra; tests only: the runtime has no ``onnx``) and
written as raw bytes, so nothing rewrites their external-data entries.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from inference.assets import DEFAULT_SEG_MODEL
from inference.backends import BackendUnavailableError, load_backend
from inference.backends.onnx_scan import MalformedModel, check_location, check_onnx_model, scan_onnx_bytes
from inference.backends.ov import model_files
from inference.errors import ModelIntegrityError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

WEIGHTS = np.full((3, 1), 0.5, np.float32)


def external(tensor: TensorProto, location: str | None) -> TensorProto:
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    if location is not None:
        for key, value in (("location", location), ("offset", "0"), ("length", str(WEIGHTS.nbytes))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
    return tensor


def tiny_model(location: str | None = None, nodes=(), functions=(), sparse=()) -> onnx.ModelProto:
    """x (1, 4, 4, 3) -> sigmoid(x @ w) (1, 4, 4, 1); ``w`` inline, or external at ``location``."""
    w = numpy_helper.from_array(WEIGHTS, "w")
    if location is not None:
        external(w, location)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Sigmoid", ["m"], ["y"]), *nodes], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 1])], initializer=[w],
        sparse_initializer=list(sparse))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], functions=list(functions))
    model.ir_version = 8
    return model


def write(folder: Path, model: onnx.ModelProto, name: str = "model.onnx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture
def no_runtime_open(monkeypatch):
    """ONNX Runtime must never be handed a refused file."""
    import onnxruntime

    def opened(*args, **kwargs):
        raise AssertionError(f"onnxruntime opened {args[:1]}")

    monkeypatch.setattr(onnxruntime, "InferenceSession", opened)


# --- the walker ---------------------------------------------------------------------------------------------

def test_shipped_model_has_no_external_data_and_is_scanned_fast():
    result = check_onnx_model(DEFAULT_SEG_MODEL / "model.onnx")
    assert result.external == () and "Conv" in result.op_types


def test_every_place_a_tensor_can_hide_is_found():
    def tensor(name: str) -> TensorProto:
        return external(numpy_helper.from_array(WEIGHTS, name), f"../{name}.bin")

    sub = helper.make_graph([helper.make_node("Identity", ["c"], ["o"])], "sub", [],
                            [helper.make_tensor_value_info("o", TensorProto.FLOAT, [3, 1])], initializer=[tensor("c")])
    nodes = [helper.make_node("If", ["cond"], ["r"], then_branch=sub, else_branch=sub),
             helper.make_node("Constant", [], ["k"], value=tensor("attr_t")),
             helper.make_node("Custom", [], ["z"], domain="x", ts=[tensor("attr_ts")])]
    function = helper.make_function("f", "fn", [], ["o"], [helper.make_node("Constant", [], ["o"],
                                                                            value=tensor("in_function"))],
                                    [helper.make_opsetid("", 17)])
    sparse = helper.make_sparse_tensor(tensor("sparse_values"),
                                       numpy_helper.from_array(np.array([0], np.int64), "idx"), [3, 1])
    model = tiny_model("../init.bin", nodes=nodes, functions=[function], sparse=[sparse])
    found = {ref.location for ref in scan_onnx_bytes(model.SerializeToString()).external}
    assert found == {"../init.bin", "../c.bin", "../attr_t.bin", "../attr_ts.bin", "../in_function.bin",
                     "../sparse_values.bin"}


def test_the_walker_agrees_with_onnx_on_which_tensors_are_external():
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    model = tiny_model("w.bin")
    expected = {t.name for t in _get_all_tensors(model) if uses_external_data(t)}
    assert {ref.tensor for ref in scan_onnx_bytes(model.SerializeToString()).external} == expected == {"w"}


@pytest.mark.parametrize("data", [b"\x0a\xff\xff\xff\xff\x0f", b"\x3a\x05\x0a", b"\x0f", b"\x3a\x80"],
                         ids=["length-past-end", "truncated-graph", "wire-type-7", "bad-varint"])
def test_malformed_bytes_are_reported_not_crashed_on(data):
    with pytest.raises(MalformedModel):
        scan_onnx_bytes(data)


def test_groups_and_unknown_fields_are_skipped_like_protobuf_does():
    model = tiny_model("../w.bin").SerializeToString()
    noise = b"\x0b\x08\x01\x12\x01a\x0c" + b"\xf9\x01" + bytes(8) + b"\xfd\x01" + bytes(4)  # group, fixed64/32
    assert [r.location for r in scan_onnx_bytes(noise + model).external] == ["../w.bin"]


@pytest.mark.parametrize("location,why", [
    ("weights.bin", None), ("sub/weights-1.bin", None), ("../outside.bin", "plain relative"),
    ("/etc/passwd", "plain relative"), ("sub/../../x.bin", "plain relative"), ("*/_ORT_MEM_ADDR_/*", "plain relative"),
    ("C:\\w.bin", "plain relative"), ("..\\w.bin", "plain relative"), ("", "no location"), (None, "no location"),
    (".", "outside"),
])
def test_location_rules(tmp_path, location, why):
    result = check_location(location, tmp_path)
    assert (result is None) if why is None else (why in result), result


# --- through the backends -------------------------------------------------------------------------------------

def test_external_data_inside_the_folder_still_loads_and_runs(tmp_path):
    folder = tmp_path / "model"
    write(folder, tiny_model("weights.bin"))
    (folder / "weights.bin").write_bytes(WEIGHTS.tobytes())
    backend = load_backend("onnxruntime", folder, variant="onnx", threads=1)
    assert backend.integrity == "unverified: no manifest.json"
    np.testing.assert_allclose(backend.predict(np.ones((1, 4, 4, 3), np.float32)), 1 / (1 + np.exp(-1.5)), rtol=1e-5)


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
@pytest.mark.parametrize("location", ["../outside.bin", "/tmp/otscc-no-such-dir/outside.bin", "*/_ORT_MEM_ADDR_/*",
                                      "escape.bin"])
def test_external_data_outside_the_folder_is_refused_before_the_runtime_opens_it(tmp_path, no_runtime_open,
                                                                                 runtime, location):
    """The outside files do not exist: a runtime that got as far as opening them would fail with its own
    error (BackendUnavailableError), not ModelIntegrityError. ``escape.bin`` is a symlink out of the folder."""
    folder = tmp_path / "model"
    write(folder, tiny_model(location))
    (folder / "escape.bin").symlink_to(tmp_path / "outside.bin")
    with pytest.raises(ModelIntegrityError) as err:
        load_backend(runtime, folder, variant="onnx", threads=1)
    text = str(err.value)
    assert "model.onnx" in text and "external file" in text and "reinstall" in text and text.isprintable(), text


def test_external_data_without_location_and_ep_context_nodes_are_refused(tmp_path, no_runtime_open):
    folder = tmp_path / "model"
    write(folder, _external_without_location())
    with pytest.raises(ModelIntegrityError, match="gives no location"):
        load_backend("onnxruntime", folder, variant="onnx", threads=1)
    context = helper.make_node("EPContext", ["x"], ["e"], domain="com.microsoft", embed_mode=0,
                               ep_cache_context="../engine.bin")
    write(folder, tiny_model(nodes=[context]))
    with pytest.raises(ModelIntegrityError, match="EPContext"):
        load_backend("onnxruntime", folder, variant="onnx", threads=1)


def _external_without_location() -> onnx.ModelProto:
    model = tiny_model()
    external(model.graph.initializer[0], None)
    return model


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_a_model_file_symlinked_out_of_its_folder_is_refused(tmp_path, no_runtime_open, runtime):
    elsewhere = write(tmp_path / "elsewhere", tiny_model())
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.onnx").symlink_to(elsewhere)
    with pytest.raises(ModelIntegrityError, match="outside the model folder"):
        load_backend(runtime, folder, variant="onnx", threads=1)


def test_a_corrupted_onnx_file_is_unusable_not_tampered(tmp_path, no_runtime_open):
    folder = tmp_path / "model"
    folder.mkdir()
    data = (DEFAULT_SEG_MODEL / "model.onnx").read_bytes()
    (folder / "model.onnx").write_bytes(data[: len(data) // 3])
    with pytest.raises(BackendUnavailableError, match="model.onnx: not a valid ONNX file"):
        load_backend("onnxruntime", folder, variant="onnx", threads=1)


# --- OpenVINO IR: the weights file is named explicitly and confined -----------------------------------------------

@pytest.fixture
def ir_copy(tmp_path, monkeypatch) -> Path:
    if not (DEFAULT_SEG_MODEL / "openvino_int8.xml").is_file():
        pytest.skip("no OpenVINO IR shipped")
    # file handling is tested on any CPU (without VNNI the int8 IR is refused after these checks)
    monkeypatch.setattr("inference.backends.ov.int8_dot_product", lambda: "any (test)")
    folder = tmp_path / "ir"
    folder.mkdir()
    for name in ("openvino_int8.xml", "openvino_int8.bin"):
        shutil.copy2(DEFAULT_SEG_MODEL / name, folder / name)
    return folder


def test_ir_is_read_with_its_weights_named(ir_copy):
    assert model_files(ir_copy / "openvino_int8.xml") == (str(ir_copy / "openvino_int8.xml"),
                                                          str(ir_copy / "openvino_int8.bin"))
    backend = load_backend("openvino", ir_copy, variant="openvino-int8", threads=1)
    assert backend.predict(np.zeros((1, 256, 256, 3), np.float32)).shape == (1, 256, 256)


@pytest.mark.parametrize("linked", ["openvino_int8.xml", "openvino_int8.bin"])
def test_ir_files_symlinked_out_of_the_folder_are_refused(ir_copy, tmp_path, linked):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.move(ir_copy / linked, outside / linked)
    (ir_copy / linked).symlink_to(outside / linked)
    with pytest.raises(ModelIntegrityError, match=f"{linked}: the .* outside the model folder"):
        load_backend("openvino", ir_copy, variant="openvino-int8", threads=1)


def test_ir_without_weights_is_unavailable(ir_copy):
    (ir_copy / "openvino_int8.bin").unlink()
    with pytest.raises(BackendUnavailableError, match="weights file openvino_int8.bin is missing"):
        load_backend("openvino", ir_copy, variant="openvino-int8", threads=1)
