"""The README's screenshots are the browser tests' own: each picture it shows is in docs/screenshots and taken
by a browser test (`screenshot(…, readme=True)`, refreshed by `make screenshots`), and each such picture is
shown, so none goes stale unseen or is drawn by hand."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_readme_screenshot_is_taken_by_a_browser_test_and_every_one_taken_is_shown() -> None:
    readme = (ROOT / "README.md").read_text()
    shown = set(re.findall(r"docs/screenshots/([a-z0-9-]+)\.png", readme))
    taken = set()
    for test in (ROOT / "tests" / "browser").glob("test_*.py"):
        taken |= set(re.findall(r'screenshot\(\s*\w+,\s*"([a-z0-9-]+)",\s*readme=True\)', test.read_text()))
    assert shown, "the README shows no screenshots"
    assert shown == taken
    for name in shown:
        picture = ROOT / "docs" / "screenshots" / f"{name}.png"
        assert picture.is_file(), f"{picture} is missing: run make screenshots"
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
