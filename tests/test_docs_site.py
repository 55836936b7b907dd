"""The documentation site (docs/, Sphinx + MyST) builds strictly, and every link holds.

The build is the one scripts/docs.sh runs: any warning fails it, a reference to a page or a
heading anchor that does not exist included (-n, MyST's heading anchors). The links Sphinx does
not check (other files, images, included files) are checked by scripts/docs_links.py; external
links cannot be fetched from CI, so they must be https and are listed in the failure message.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bakery import TEMPLATE

DOCS = TEMPLATE / "docs"
#: What a built page must not load from another host when it is viewed.
REMOTE_ASSET = re.compile(
    r"""<(?:script|img|iframe)\b[^>]*\bsrc=["'](?:https?:)?//|<link\b[^>]*\bhref=["'](?:https?:)?//""",
    re.IGNORECASE,
)


def docs_links():
    """scripts/docs_links.py, imported."""
    spec = importlib.util.spec_from_file_location(
        "docs_links", TEMPLATE / "scripts" / "docs_links.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built as scripts/docs.sh builds it; fails on any warning."""
    out = tmp_path_factory.mktemp("site")
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
         "-d", str(out / ".doctrees"), str(DOCS), str(out / "html")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "WARNING" not in completed.stderr, completed.stderr
    return out / "html"


def test_the_site_builds_with_no_warning(site: Path) -> None:
    """Every page of the home page's toctrees is built."""
    for page in ("index", "quickstart", "notebook", "options", "generated-project", "rollback",
                 "http-api", "http-api-reference", "running", "monitoring", "security",
                 "performance", "design-decisions", "updating", "changelog", "contributing",
                 "adding-a-framework"):  # fmt: skip
        assert (site / f"{page}.html").is_file(), page


def test_the_home_page_lists_the_pages_in_reading_order(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    order = ["quickstart", "notebook", "options", "generated-project", "rollback", "http-api",
             "running", "monitoring", "security", "performance", "design-decisions", "updating",
             "changelog", "contributing"]  # fmt: skip
    positions = [html.index(f'href="{page}.html"') for page in order]
    assert positions == sorted(positions)


def test_a_broken_anchor_fails_the_build(tmp_path: Path) -> None:
    """The strict build really checks heading anchors: a copy with one broken link fails."""
    source = tmp_path / "docs"
    source.mkdir()
    (source / "conf.py").write_text((DOCS / "conf.py").read_text())
    (source / "index.md").write_text(
        "# Home\n\n## A heading\n\n[ok](#a-heading), [bad](#no-such-heading)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-n", "-q", "-b", "html", str(source), str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode != 0
    assert "no-such-heading" in completed.stderr
    assert "a-heading'" not in completed.stderr


def test_no_built_page_loads_anything_from_another_host(site: Path) -> None:
    remote = [
        f"{page.relative_to(site)}: {match.group(0)}"
        for page in site.rglob("*.html")
        for match in REMOTE_ASSET.finditer(page.read_text(encoding="utf-8"))
    ]
    assert not remote, remote


def test_every_relative_link_image_and_include_resolves() -> None:
    links = docs_links()
    problems = links.broken(links.all_links())
    assert not problems, "\n".join(problems)


def test_external_links_are_https() -> None:
    """They are not fetched (CI reaches only package registries): the message lists them all."""
    links = docs_links()
    external = sorted({link.where() for link in links.all_links() if link.external})
    plain = [where for where in external if not where.split(": ", 1)[1].startswith("https://")]
    assert not plain, (
        "not https:\n" + "\n".join(plain) + "\n\nall external links:\n" + "\n".join(external)
    )
