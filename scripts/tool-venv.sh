# Sourced by the scripts: make (or reuse) .venv with the template's pinned dev tools.
# Rebuilt only when pyproject.toml changes; needs python3 with its venv module.

ensure_tool_venv() {
  local stamp=".venv/.pyproject-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -e "$stamp" ]; then
    echo "== preparing .venv with the template's dev tools (cookiecutter, pytest, ruff, ...)"
    python3 -m venv --clear .venv
    # pip 25.1+ installs a pyproject.toml dependency group directly.
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --group dev
    touch "$stamp"
  fi
}
