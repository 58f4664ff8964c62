"""Markdown from the model made inert: no raw HTML, and no image that a renderer would fetch.

A CommonMark parser (markdown-it-py) decides what is HTML or an image, not a regex: the regex this replaces took a
backslash-escaped backtick for the start of a code span and an indented "```" for a fence, and let the `<img>`
after them through (JupyterLab's sanitiser keeps `<img>`, so opening the notebook fetched the URL).

Text with neither comes back unchanged. Otherwise, on the lines of the blocks that hold them (never inside code
blocks), `<` becomes `&lt;` (the tag shows as text) and `![` becomes `!\\[` (the image becomes a visible link);
the result is parsed again, and if anything is still found after a few rounds the whole text is shown as a
literal code block. Parsed twice, plain CommonMark and with GFM tables, because the renderer (marked, GFM) splits
table cells before it looks for code spans.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

ROUNDS = 3


@functools.cache
def _parsers() -> tuple[Any, ...]:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark"), MarkdownIt("commonmark").enable("table")


def _walk(tokens: Iterable[Any]) -> Iterable[Any]:
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def _findings(text: str) -> tuple[set[int], set[int]]:
    """(lines of blocks holding HTML or images, lines inside code blocks)."""
    risky: set[int] = set()
    code: set[int] = set()
    for parser in _parsers():
        for token in parser.parse(text):
            if not token.map:
                continue
            lines = range(*token.map)
            if token.type in ("fence", "code_block"):
                code.update(lines)
            elif token.type == "html_block" or (
                    token.type == "inline" and any(c.type in ("html_inline", "image") for c in _walk(token.children))):
                risky.update(lines)
    return risky, code


def fenced(text: str, info: str = "text") -> str:
    """A fenced block no backtick run inside `text` can close."""
    runs = [len(m) for m in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def inert_markdown(text: str) -> str:
    """`text` with raw HTML shown as text and images as links (see the module docstring)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for _ in range(ROUNDS):
        risky, code = _findings(text)
        if not risky:
            return text
        lines = text.split("\n")
        for number in sorted(risky - code):
            if number < len(lines):
                lines[number] = lines[number].replace("<", "&lt;").replace("![", "!\\[")
        text = "\n".join(lines)
    return text if not _findings(text)[0] else fenced(text)
