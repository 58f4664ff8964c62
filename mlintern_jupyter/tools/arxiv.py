"""A paper as sections: arXiv's HTML (LaTeXML) pages, or the Hub's markdown of a paper page as the fallback.

Sections keep their number ("3", "3.1", "A") so the model can ask for `section="3"` after reading the table of
contents; each section's body is converted to markdown (tables kept, math as its LaTeX source).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from .pages import html_to_markdown

PREVIEW_CHARS = 200
SECTION_CHARS = 12_000


@dataclass
class Section:
    number: str
    title: str
    level: int
    text: str

    @property
    def heading(self) -> str:
        return f"{self.number} {self.title}".strip()


@dataclass
class Paper:
    title: str
    abstract: str
    sections: list[Section]
    source: str


def _clean(text: str) -> str:
    return " ".join(text.split())


def parse_arxiv_html(html: str, source: str) -> Paper:
    """Title, abstract and numbered sections/subsections of an arXiv (LaTeXML) HTML page."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for math in soup.find_all("math"):
        # MathML text nodes read as noise; LaTeXML keeps the LaTeX source in alttext.
        math.replace_with(f" ${math.get('alttext', '')}$ " if math.get("alttext") else " ")
    for junk in soup.find_all(["script", "style", "nav", "footer"]):
        junk.decompose()
    title_el = soup.find(class_="ltx_title_document") or soup.find("h1")
    abstract_el = soup.find(class_="ltx_abstract")
    abstract = ""
    if abstract_el is not None:
        for heading in abstract_el.find_all(["h6", "h2", "h3"]):
            heading.decompose()
        abstract = _clean(abstract_el.get_text(" "))
    sections: list[Section] = []
    for element in soup.find_all("section"):
        classes = set(element.get("class") or [])
        level = 2 if classes & {"ltx_section", "ltx_appendix"} else 3 if "ltx_subsection" in classes else 0
        if not level:
            continue
        heading = element.find(["h2", "h3", "h4"])
        if heading is None:
            continue
        tag = heading.find(class_="ltx_tag")
        number = _clean(tag.get_text(" ")).rstrip(".") if tag is not None else ""
        if tag is not None:
            tag.decompose()
        title = _clean(heading.get_text(" "))
        body = _body_markdown(element)
        sections.append(Section(number or _number_in(title), _strip_number(title), level, body))
    title = _clean(title_el.get_text(" ")).removeprefix("Title:").strip() if title_el is not None else ""
    return Paper(title, abstract, sections, source)


def _body_markdown(element: Any) -> str:
    """The section as markdown, its own heading left out (subsection headings stay, as markdown headings)."""
    body = copy.copy(element)
    first = body.find(["h2", "h3", "h4"])
    if first is not None:
        first.decompose()
    for cite in body.find_all(class_="ltx_bibliography"):
        cite.decompose()
    return html_to_markdown(str(body)).strip()


def _number_in(title: str) -> str:
    match = re.match(r"^([A-Z]?\d+(?:\.\d+)*|[A-Z])\s", title)
    return match.group(1) if match else ""


def _strip_number(title: str) -> str:
    number = _number_in(title)
    return title[len(number):].strip() if number else title


def parse_markdown_paper(markdown: str, source: str) -> Paper:
    """The Hub's markdown of a paper page (`/papers/{id}.md`): `#` title, `##`/`###` sections."""
    title, abstract, sections = "", "", []
    current: Section | None = None
    for line in markdown.splitlines():
        match = re.match(r"^(#{1,3})\s+(.*)$", line)
        if match and len(match.group(1)) == 1 and not title:
            title = match.group(2).strip()
            continue
        if match and len(match.group(1)) > 1:
            heading = match.group(2).strip()
            current = Section(_number_in(heading), _strip_number(heading), len(match.group(1)), "")
            sections.append(current)
            continue
        if current is not None:
            current.text += line + "\n"
    for section in sections:
        section.text = section.text.strip()
    found = next((s for s in sections if s.title.lower() == "abstract"), None)
    if found is not None:
        abstract = _clean(found.text)
        sections.remove(found)
    return Paper(title, abstract, sections, source)


def find_section(sections: list[Section], wanted: str) -> Section | None:
    """By number ("3", "4.2", "A"), exact title, then words of the title."""
    query = wanted.strip().lower().rstrip(".")
    for test in (lambda s: s.number.lower() == query, lambda s: s.title.lower() == query,
                 lambda s: s.heading.lower() == query, lambda s: query in s.title.lower()):
        found = next((s for s in sections if test(s)), None)
        if found is not None:
            return found
    return None


def table_of_contents(paper: Paper, arxiv_id: str) -> str:
    lines = [f"# {paper.title or arxiv_id}", f"https://arxiv.org/abs/{arxiv_id} (read from {paper.source})", ""]
    if paper.abstract:
        lines += ["## Abstract", paper.abstract, ""]
    lines.append("## Sections (read one with section=\"<number>\" or words of its title)")
    for s in paper.sections:
        preview = _clean(s.text)[:PREVIEW_CHARS] or "(no text)"
        lines.append(f"{'  ' if s.level > 2 else ''}- {s.heading}: {preview}")
    return "\n".join(lines)


def section_text(section: Section, arxiv_id: str) -> str:
    text = section.text or "(This section has no text the page exposes; try the next one.)"
    if len(text) > SECTION_CHARS:
        text = text[:SECTION_CHARS] + (f"\n\n[... {len(text) - SECTION_CHARS} characters cut; read a subsection "
                                       "(e.g. section=\"4.2\") for the rest]")
    return f"# {section.heading}\nhttps://arxiv.org/abs/{arxiv_id}\n\n{text}"
