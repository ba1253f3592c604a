"""Offline (issue 9, item 7): the full CLI and GUI flows with every socket call blocked open no connection,
including ONNX Runtime and OpenVINO start-up. See tests/reliability/offline.py for the three layers."""

from __future__ import annotations

import shutil

import pytest

from tests.reliability.offline import parse_strace, problems, run_offline


def test_the_check_sees_attempts() -> None:
    """Negative control: deliberate lookups/connects are refused and recorded (native ones too, by strace)."""
    result = run_offline("canary", timeout=120)
    assert result["flows"]["canary"]["outcomes"] == {"getaddrinfo": "blocked", "connect": "blocked",
                                                     "urlopen": "blocked"}
    assert len(result["python_attempts"]) == 3
    assert problems(result)


def test_parse_strace() -> None:
    log = "\n".join([
        '11 socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_IP) = 5',
        '11 connect(5, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.53")}, 16) = -1 ENETUNREACH',
        '12 connect(6, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT',
        '13 socket(AF_UNIX, SOCK_STREAM, 0) = 7'])
    calls = parse_strace(log)
    assert len(calls["inet_sockets"]) == 1 and len(calls["inet_connects"]) == 1 and len(calls["local_connects"]) == 1


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_cli_gui_and_runtimes_run_offline() -> None:
    result = run_offline("cli,backends,gui")
    flows = result["flows"]
    assert all("error" not in f for f in flows.values()), flows
    assert flows["cli"]["exit_codes"] == {"predict": 0, "inspect": 0, "self-test": 0}
    assert {"mask.nii.gz", "result.json", "report.pdf"} <= set(flows["cli"]["outputs"])
    assert set(flows["backends"]["started"]) == {"onnx", "openvino", "tflite-int8", "tflite-fp32", "auto"}
    assert "onnxruntime" in flows["backends"]["started"]["onnx"]
    assert "openvino" in flows["backends"]["started"]["openvino"]
    assert flows["gui"]["steps"] == [["load", "finished"], ["segment", "finished"], ["export", "finished"]]
    assert flows["gui"]["error_reports"] == []
    assert problems(result) == [], result
    if shutil.which("strace"):
        assert result["native_calls"] is not None and "strace" in result["layers"]
    print("offline layers:", result["layers"], "local probes:", result["python_local_sockets"])
