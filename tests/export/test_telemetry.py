"""OpenVINO / NNCF telemetry is off: consent is declined and the sender does nothing (fresh process, empty HOME)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CODE = """
from openvino_telemetry.utils.opt_in_checker import OptInChecker, ConsentCheckResult
from openvino_telemetry.utils import sender
before = OptInChecker().check(enable_opt_in_dialog=False, disable_in_ci=True)
original_send = sender.TelemetrySender.send
from inference.backends.ov import disable_openvino_telemetry
assert disable_openvino_telemetry()
after = OptInChecker().check(enable_opt_in_dialog=False, disable_in_ci=True)
import openvino_telemetry as tm
t = tm.Telemetry(app_name="probe", app_version="0", tid="G-XXXX", backend="ga4", enable_opt_in_dialog=False)
import nncf.telemetry.wrapper as w, os
print(before.name, after.name, t.consent, sender.TelemetrySender.send is original_send,
      isinstance(w.telemetry, w.NNCFTelemetry), os.environ.get("NNCF_CI"))
"""


def test_openvino_and_nncf_telemetry_disabled(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NNCF_CI", "NNCF_DEV", "PYTEST_CURRENT_TEST")}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, cwd=REPO, env=env,
                            timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    before, after, consent, same_sender, nncf_real, flag = result.stdout.split()[-6:]
    assert before == "NO_FILE"  # without our switch a missing consent file counts as consent for NNCF/ovc
    assert after == "DECLINED" and consent == "False" and same_sender == "False"
    assert nncf_real == "False" and flag == "1"  # NNCF installed its no-op stub
    assert not (tmp_path / "intel").exists(), "a telemetry consent/client-id file was written"
