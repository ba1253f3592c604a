"""Every command that loads TensorFlow imports it under one environment (``inference.tf_env``): the C++ log level
3 unless the user chose one. ``otscc export``, ``train-seg`` and ``eval-seg`` still set 2, so they printed the
alarming "failed call to cuInit" on every machine without a GPU, which ``--backend keras`` no longer did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: run in a child process, so that no TensorFlow is imported and the environment is fresh: a finder answers every
#: import of TensorFlow / tf_keras with an empty module and records the log level seen at that moment
CHILD = """
import importlib.abc, importlib.util, json, os, sys
seen = []
class NoTensorFlow(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tf_keras"):
            seen.append(os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
            return importlib.util.spec_from_loader(name, self)
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        pass
sys.meta_path.insert(0, NoTensorFlow())
%s
print(json.dumps({"at_import": seen, "after": os.environ.get("TF_CPP_MIN_LOG_LEVEL")}))
"""

LOADERS = {
    "keras backend": "from inference.backends.keras import import_tensorflow\nimport_tensorflow()",
    "otscc export": ("from pathlib import Path\nfrom export.context import ExportContext\n"
                     "from inference.errors import InputError\ntry:\n"
                     "    ExportContext(Path('no-such-model'), Path('out'))\nexcept InputError:\n    pass\n"
                     "import tf_keras"),  # what the converters import next
    "train-seg, eval-seg": "import training.seg.model",
}


@pytest.mark.parametrize("where", LOADERS)
@pytest.mark.parametrize(("user", "seen"), [(None, "3"), ("1", "1")])
def test_tensorflow_is_loaded_quiet_everywhere_unless_the_user_chose(where, user, seen, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env |= {"PYTHONPATH": str(ROOT), **({"TF_CPP_MIN_LOG_LEVEL": user} if user else {})}
    done = subprocess.run([sys.executable, "-c", CHILD % LOADERS[where]], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    levels = json.loads(done.stdout.strip().splitlines()[-1])
    assert levels["at_import"] and set(levels["at_import"]) == {seen} and levels["after"] == seen


def test_the_level_is_defined_once():
    from inference.tf_env import TF_LOG_LEVEL

    assert TF_LOG_LEVEL == "3"
    sources = [p for top in ("inference", "export", "training") for p in (ROOT / top).rglob("*.py")]
    setting = [p.relative_to(ROOT).as_posix() for p in sources if '"TF_CPP_MIN_LOG_LEVEL",' in p.read_text()]
    assert setting == ["inference/tf_env.py"]


def test_tf_keras_mode_is_set_only_with_the_log_level():
    """Three diagnostic modules (orientation probe, stage latency, decoder configurations) set the tf-keras mode
    themselves and so loaded TensorFlow at its default log level, printing "failed call to cuInit"."""
    sources = [p for top in ("inference", "export", "training", "desktop") for p in (ROOT / top).rglob("*.py")]
    setting = [p.relative_to(ROOT).as_posix() for p in sources if '"TF_USE_LEGACY_KERAS",' in p.read_text()]
    assert setting == ["inference/tf_env.py"]
