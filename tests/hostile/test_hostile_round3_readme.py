"""The README states the safety guarantees in a few lines and points to the full list."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _section(text: str, title: str) -> list[str]:
    match = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return [line for line in match.group(1).splitlines() if line.strip()]


def test_readme_safety_section_is_short_and_points_to_the_details():
    lines = _section((REPO / "README.md").read_text(), "Safety")
    body = " ".join(lines)
    assert 1 <= len(lines) <= 10, len(lines)
    assert "never replaces a file you did not ask it to" in body
    for promise in ("--overwrite", "temporary name", "lock", "one line"):
        assert promise in body, promise
    for page in ("docs/safety.md", "docs/hardening.md"):
        assert f"]({page})" in body and (REPO / page).is_file(), page
