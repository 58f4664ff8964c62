"""Web pages as markdown the model can read: markdownify over BeautifulSoup, not a hand-written converter.

Tables stay tables, links keep their targets, code stays fenced; page chrome (scripts, styles, navigation, headers,
footers, forms, embedded media) is dropped first. When a page marks its main content (`<main>`, `<article>`), only
that part is converted.
"""

from __future__ import annotations

import re

DROP = ("script", "style", "noscript", "nav", "header", "footer", "form", "svg", "iframe", "object", "embed",
        "button", "template", "head")


def html_to_markdown(html: str) -> str:
    """Readable markdown of an HTML page or fragment; never raises on malformed input."""
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(html or "", "html.parser")
    for tag in soup.find_all(DROP):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    text = MarkdownConverter(heading_style="ATX", bullets="-", code_language="", escape_underscores=False,
                             escape_asterisks=False, strip=["img"]).convert_soup(root)
    # Collapse the blank-line runs block elements leave behind, and trailing spaces.
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
