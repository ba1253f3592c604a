"""Atomic writes: a failure mid-write keeps the previous file and leaves no temporary behind."""

from __future__ import annotations

import pytest

from inference.atomic import atomic_path, write_json


def test_failed_write_keeps_previous_file(tmp_path):
    target = tmp_path / "result.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"v": 2, "partial')
        raise RuntimeError("crash mid-write")
    assert target.read_text() == '{\n  "v": 1\n}'
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_temporary_keeps_suffix_and_replaces(tmp_path):
    target = tmp_path / "sub" / "model.weights.h5"
    with atomic_path(target) as tmp:
        assert tmp.name.endswith(".weights.h5") and tmp.parent == target.parent
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
