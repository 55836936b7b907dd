"""Sphinx configuration of the template's documentation site (scripts/docs.sh builds it).

The pages are Markdown, read by MyST. Nothing here fetches anything from the internet, at
build time or when a page is viewed: no CDN scripts, no intersphinx, no remote images.
"""

project = "cookiecutter-flask-ml"
author = "the cookiecutter-flask-ml authors"
html_title = "cookiecutter-flask-ml"

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["option-help.toml", "reference/*.json", "_build", ".*"]

# MyST: ::: fences for admonitions, definition lists, and an anchor for every heading down to
# level 4, so that `[text](page.md#a-heading)` and `(#a-heading)` links are checked (-n).
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 4

html_theme = "furo"
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False
pygments_style = "sphinx"
