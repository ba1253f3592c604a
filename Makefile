# Two commands on a fresh clone: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
export QT_QPA_PLATFORM ?= offscreen
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: demo test lint venv clean bundle bundle-cpu installer bundle-test soak fuzz offline

venv: $(STAMP)

# pyradiomics 3.x fails to build in pip's isolated build environment: install its build requirements
# first, then build it without isolation (see README, "Installing by hand"). The test suite trains tiny
# models, so the development environment includes the train extra (TensorFlow); a clinic install does not.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -c constraints.txt numpy setuptools versioneer wheel
	$(PIP) install -q -c constraints.txt --no-build-isolation pyradiomics
	$(PIP) install -q -c constraints.txt -e '.[dev,train]'
	rm -f $(VENV)/.installed-*
	touch $@

# The main job on the bundled sample patient: mask, nodal risk and report.pdf under demo-output/.
demo: $(STAMP)
	$(VENV)/bin/otscc predict assets/sample_patient --out demo-output

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Two workers, each taking whole test files (--dist loadfile: a module's fixtures, e.g. the tiny export, are built
# once). On a 2-core AVX2-only machine: about 16 min instead of 25 serially (8-10 min with AVX-512); the slowest tests
# are listed at the end. A worker that dies is not replaced (--max-worker-restart 0): with loadfile, pytest-xdist 3.8
# can wait for ever after replacing one (pytest-xdist issues 784, 1378; seen here 2026-11-30), and without a
# replacement the run fails at once, naming the test the worker crashed on.
TEST_WORKERS ?= 2
test: lint
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) --dist loadfile --max-worker-restart 0 --durations=15

# -- Packaging (docs/packaging.md) -------------------------------------------------------------------------------
# bundle:      dist/otscc-edge/, the PyInstaller runtime folder with `otscc` and `otscc-gui` (build.spec)
# installer:   dist/otscc-edge_<version>_<arch>.deb from that folder (dpkg-deb; Debian/Ubuntu only)
# bundle-test: rebuild both and the CPU-only bundle, then check them (tests/packaging/test_bundle.py: contents,
#              self-test and predict from the extracted package offline in a clean environment, GUI start,
#              frozen == venv features, the CPU-only bundle's contents and self-test)
BUNDLE := dist/otscc-edge

bundle: $(STAMP)
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build build.spec

# the same bundle without the GPU/NPU parts of OpenVINO and LiteRT (a size option, docs/packaging.md)
bundle-cpu: $(STAMP)
	OTSCC_BUNDLE_CPU_ONLY=1 $(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist-cpu \
		--workpath build-cpu build.spec

installer: bundle
	$(PY) -m export.packaging.deb --bundle $(BUNDLE) --out dist $(DEB_OPTIONS)

bundle-test: installer bundle-cpu
	OTSCC_BUNDLE_TEST=1 $(VENV)/bin/pytest -q -p no:cacheprovider tests/packaging

# -- Reliability (docs/reliability.md): the long versions of checks make test runs small ---------------------------
# soak:    50 synthetic patients through one `otscc predict --batch` process, 30 through one GUI window (~20 min)
# fuzz:    FUZZ_EXAMPLES (2000) cases per intake target (NIfTI, NRRD, MetaImage, DICOM, folder layouts) (~5 min)
# offline: the CLI, every CPU runtime and the GUI with the network blocked (audit hook, strace, namespace)
soak: $(STAMP)
	$(PY) -m tests.reliability.soak --cli-patients 50 --gui-patients 30 --distinct 50 \
		--json docs/reliability/soak.json --plot docs/img/reliability/soak_memory.png

FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	$(PY) -m tests.inference.fuzzing --examples $(FUZZ_EXAMPLES) --json docs/reliability/fuzz.json

offline: $(STAMP)
	$(PY) -m tests.reliability.offline

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo-output build dist build-cpu dist-cpu
