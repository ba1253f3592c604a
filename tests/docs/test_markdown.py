"""The README and docs/ render as written: code fences pair up (a stray fence at the end of the README's command
block turned its whole "Prediction" section, the exit codes and the install steps into one grey code block), and
every relative link or image names a file of the repository."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         *sorted(p for top in ("assets", "tests") for p in (ROOT / top).rglob("*.md"))]
FENCE = re.compile(r"^ {0,3}(```|~~~)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _split(page: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The page's lines outside and inside code blocks, numbered from 1."""
    prose, code, inside = [], [], False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            inside = not inside
        else:
            (code if inside else prose).append((number, line))
    return prose, code


def _prose(page: Path) -> list[tuple[int, str]]:
    return _split(page)[0]


def _code(page: Path) -> list[tuple[int, str]]:
    return _split(page)[1]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_code_fences_pair_up(page):
    fences = [n for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1) if FENCE.match(line)]
    assert len(fences) % 2 == 0, f"an unclosed code fence: fence lines {fences}"
    inside = [n for n, line in _code(page) if re.match(r"#{2,6} [A-Z`]", line)]  # what a stray fence swallows
    assert not inside, f"Markdown headings inside a code block (a stray fence above them?): lines {inside}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_name_files_that_exist(page):
    missing = []
    for number, line in _prose(page):
        for target in LINK.findall(line):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or an anchor on the page
            if not _exists_as_spelled(page.parent, unquote(target.split("#")[0])):
                missing.append(f"{number}: {target}")
    assert not missing


def _exists_as_spelled(folder: Path, relative: str) -> bool:
    """Whether ``relative`` names a file or folder below ``folder`` with every name spelled as on disk: a link in the
    wrong case works on a macOS or Windows checkout and is broken on GitHub and Linux."""
    path = folder
    for part in Path(relative).parts:
        if part in (".", ".."):
            path = path / part
            continue
        if not path.is_dir() or part not in os.listdir(path):
            return False
        path = path / part
    return path.exists()
