"""The documentation stays true to the code: every setting is documented, and no page names a
setting that does not exist."""

from __future__ import annotations

import re

from assistant.settings import PROJECT_ROOT, Settings

DOCS = PROJECT_ROOT / "docs"


def test_every_setting_is_on_the_configuration_page() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`ASSISTANT_{name.upper()}`" not in page]
    assert not missing, f"add to docs/configuration.md: {missing}"


def test_no_page_names_a_setting_that_does_not_exist() -> None:
    known = {f"ASSISTANT_{name.upper()}" for name in Settings.model_fields}
    known.add("ASSISTANT_TEST_DATABASE_URL")  # read by the tests, not by the service
    pages = [PROJECT_ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    unknown = {(page.name, name) for page in pages
               for name in re.findall(r"ASSISTANT_[A-Z0-9_]*[A-Z0-9]", page.read_text(encoding="utf-8"))
               if name not in known}
    assert not unknown, sorted(unknown)


def test_the_readme_is_short() -> None:
    assert len((PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200
