"""otscc-edge runtime: Qt-free, TensorFlow-free code a clinic laptop runs."""

__version__ = "0.1.0"
