"""Packaging tests: fast checks of the packaging code (always), and checks of the built bundle and Debian
package (``test_bundle.py``), which run only under ``make bundle-test``: it rebuilds both first and sets
``OTSCC_BUNDLE_TEST=1``, so a stale bundle left in dist/ is never what gets tested. Without it those tests
skip with a reason (``pytest -ra`` shows it); with it a missing bundle or package is a failure.
"""

from __future__ import annotations


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "bundle: checks of the built bundle and .deb (run by `make bundle-test`)")
