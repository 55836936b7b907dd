#!/usr/bin/env bash
# Build the documentation site (docs/, Sphinx + MyST + furo) strictly into build/docs: any
# warning, a broken cross-reference or a missing heading anchor included, fails the build.
#   bash scripts/docs.sh                 build it; open build/docs/index.html
#   bash scripts/docs.sh --serve [PORT]  build it, then serve it on http://127.0.0.1:PORT (8000)
set -euo pipefail
cd "$(dirname "$0")/.."
SERVE=0
[ "${1:-}" = "--serve" ] && SERVE=1
PORT="${2:-8000}"
source scripts/system-packages.sh
source scripts/tool-venv.sh
ensure_system_packages python3-venv
ensure_tool_venv

echo "== checking the generated pages (options, the tour of a bake, the HTTP API reference)"
.venv/bin/python scripts/generate_docs.py --check
echo "== building the site into build/docs"
rm -rf build/docs
.venv/bin/sphinx-build -W --keep-going -n -q -b html docs build/docs
echo "== checking links to files, images and includes"
.venv/bin/python scripts/docs_links.py --check
echo "== external links (https, not fetched: check them by hand when they change)"
.venv/bin/python scripts/docs_links.py | sed 's/^/   /'
echo "== built: build/docs/index.html"
if [ "$SERVE" = 1 ]; then
  echo "== serving it on http://127.0.0.1:$PORT (Ctrl-C stops)"
  exec .venv/bin/python -m http.server --bind 127.0.0.1 --directory build/docs "$PORT"
fi
