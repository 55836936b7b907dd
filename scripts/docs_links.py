"""The links and images of the documentation site's pages (docs/**/*.md).

    .venv/bin/python scripts/docs_links.py          list the external links, one per line
    .venv/bin/python scripts/docs_links.py --check  exit 1 if a relative link, image or
                                                    included file is missing, or an external
                                                    link is not https

Sphinx checks links to pages and to their headings (-n, MyST's heading anchors); this checks
what it does not: links to other files, images (Markdown, HTML and directives), included files,
and external links, which are listed rather than fetched (CI reaches only package registries);
links to the reader's own service (http://127.0.0.1:8000/docs) are neither.
Pages are read with markdown-it, the parser MyST is built on, so code blocks hold no links.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

DOCS = Path(__file__).resolve().parent.parent / "docs"
#: Directives whose argument is a file: included pages and images.
FILE_DIRECTIVES = ("{include}", "{literalinclude}", "{image}", "{figure}")
HTML_SOURCE = re.compile(r"""<(?:img|source)\b[^>]*?\bsrc=["']([^"']+)["']""", re.IGNORECASE)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
#: The reader's own service, as the pages' examples run it: a link, not a site to check.
LOOPBACK = re.compile(r"^https?://(127\.0\.0\.1|localhost)(:\d+)?(/|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    page: Path
    target: str
    kind: str  # "link", "image" or "include"

    @property
    def external(self) -> bool:
        """On another host: not the reader's own service on 127.0.0.1, not a file here."""
        return bool(EXTERNAL.match(self.target)) and not LOOPBACK.match(self.target)

    def where(self) -> str:
        return f"{self.page.relative_to(DOCS).as_posix()}: {self.target}"


def pages() -> list[Path]:
    return sorted(path for path in DOCS.rglob("*.md") if not path.name.startswith("_"))


def links(page: Path) -> Iterator[Link]:
    """Every link, image and included file of one page."""
    tokens = MarkdownIt("commonmark").parse(page.read_text(encoding="utf-8"))
    for token in tokens:
        if token.type == "fence" and token.info.strip().startswith(FILE_DIRECTIVES):
            argument = token.info.strip().split(maxsplit=1)
            if len(argument) == 2:
                yield Link(page, argument[1].strip(), "include")
        if token.type == "html_block":
            for source in HTML_SOURCE.findall(token.content):
                yield Link(page, source, "image")
        for child in token.children or []:
            if child.type == "link_open":
                yield Link(page, str(child.attrs["href"]), "link")
            elif child.type == "image":
                yield Link(page, str(child.attrs["src"]), "image")
            elif child.type == "html_inline":
                for source in HTML_SOURCE.findall(child.content):
                    yield Link(page, source, "image")


def all_links() -> list[Link]:
    return [link for page in pages() for link in links(page)]


def broken(found: list[Link]) -> list[str]:
    """Relative links, images and includes whose file does not exist."""
    wrong = []
    for link in found:
        path = link.target.split("#", 1)[0]
        if EXTERNAL.match(link.target) or not path:
            continue  # another host, the reader's service, or an anchor Sphinx checks
        if not (link.page.parent / path).exists():
            wrong.append(f"{link.where()}: no such file")
    return wrong


def not_https(found: list[Link]) -> list[str]:
    """External links by another scheme than https."""
    return [
        f"{link.where()}: an external {link.kind} must be https"
        for link in found
        if link.external and not link.target.startswith("https://")
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description="Check or list the docs pages' links.")
    parser.add_argument("--check", action="store_true", help="fail on a broken link")
    args = parser.parse_args()
    found = all_links()
    if args.check:
        wrong = broken(found) + not_https(found)
        for problem in wrong:
            print(problem)
        return 1 if wrong else 0
    for target in sorted({link.target for link in found if link.external}):
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
