"""The tutorials in docs/tutorials/*.md, executed as written: each page's fenced python
blocks run in order, in one namespace, in a temporary folder (they use a tiny cohort)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted((REPO / "docs" / "tutorials").glob("*.md"))


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_block_extraction_reads_only_python_fences():
    text = "a\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = 2\n```\n"
    assert python_blocks(text) == ["x = 1\n", "y = 2\n"]


def test_there_are_tutorials():
    assert PAGES and all(python_blocks(p.read_text()) for p in PAGES)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_tutorial_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__tutorial__"}
    for i, block in enumerate(python_blocks(page.read_text())):
        exec(compile(block, f"{page.name} (block {i + 1})", "exec"), namespace)
