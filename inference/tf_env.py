"""The environment TensorFlow is imported under, in one place for every command that loads it (the Keras backend,
``otscc export``, ``train-seg``, ``eval-seg``). Importing this module imports no TensorFlow: call
``prepare_tensorflow_env`` before the first ``import tensorflow`` / ``tf_keras``, since TensorFlow reads these
variables when its libraries load.
"""

from __future__ import annotations

import os

#: TensorFlow's C++ log level unless the user set one: 3 = fatal only. At 2 (errors kept) every start on a machine
#: without a GPU printed "E ... failed call to cuInit: ... UNKNOWN ERROR (303)" on stderr (TensorFlow 2.21, the
#: clinic's laptops): alarming and meaningless there, since the CPU runs the model. Errors that matter reach the
#: caller as Python exceptions; ``TF_CPP_MIN_LOG_LEVEL=0 otscc ...`` shows everything again.
TF_LOG_LEVEL = "3"


def prepare_tensorflow_env() -> None:
    """Legacy tf-keras mode (the model is built with ``tf_keras`` so tfmot can quantize it) and the C++ log level
    ``TF_LOG_LEVEL``; a value the user set for either is kept."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)
