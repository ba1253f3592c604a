"""Packaging of the runtime: the self-test reference, the Debian package, checks of a built bundle.

Qt-free and TensorFlow-free. ``build.spec`` (PyInstaller) builds the bundle; the modules here are run by
``make`` targets and the bundle tests (see docs/packaging.md).
"""
