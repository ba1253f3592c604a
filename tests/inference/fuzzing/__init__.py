"""Fuzzing of the intake readers (issue 9): malformed NIfTI/NRRD/MetaImage files, DICOM series and patient
folders, generated with Hypothesis by mutating valid inputs. ``tests/inference/test_fuzz.py`` runs a bounded,
reproducible number of cases in ``make test``; ``python -m tests.inference.fuzzing`` runs as many as asked.
"""
