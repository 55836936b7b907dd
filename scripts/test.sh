#!/usr/bin/env bash
# The template's full test suite: the fast layer (every combination baked, hooks, lint) and the
# slow layer (each bake's own suite with its pinned dependencies; the default bake served by
# gunicorn and driven over HTTP). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/system-packages.sh
source scripts/tool-venv.sh
# The tests run a bake's Makefile and start a real PostgreSQL and Prometheus; the default bake's
# image is built and run with podman, on a base made by debootstrap (tests/podman.py says why);
# wrk loads the comparison benchmark in its smoke test; chromium, driven by chromium-driver,
# opens the served /docs page with its network cut (tests/test_docs_page.py); the docs' pages
# show curl, and tests/test_docs_commands.py runs their commands as written.
ensure_system_packages python3-venv make curl postgresql prometheus podman runc debootstrap wrk \
  chromium chromium-driver
ensure_tool_venv

echo "== ruff on the template's own code (the bakes are linted by the tests)"
.venv/bin/ruff check tests scripts benchmarks local_extensions.py template_extensions.py
.venv/bin/ruff format --check tests scripts benchmarks local_extensions.py template_extensions.py

echo "== pytest, fast and slow layers"
exec .venv/bin/python -m pytest -m "slow or not slow" --durations=20 "$@"
