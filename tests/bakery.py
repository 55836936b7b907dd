"""Baking the template and making venvs for bakes: shared by the tests and the benchmarks."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
# Virtualenvs for bakes, one per distinct set of pinned requirements, kept between runs (they
# take a minute to make and never change for the same pins).
VENV_CACHE = TEMPLATE / ".cache" / "venvs"


def run(command: list[str], cwd: Path | None = None, timeout: float = 600, **kwargs) -> str:
    """Run a command; raise with its output if it fails."""
    completed = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs
    )
    assert completed.returncode == 0, (
        f"{' '.join(map(str, command))} exited {completed.returncode}\n"
        f"{completed.stdout[-5000:]}\n{completed.stderr[-5000:]}"
    )
    return completed.stdout


def bake_into(directory: Path, *, template: Path = TEMPLATE, **context: str) -> Path:
    """Bake the template (this one, or another checkout of it) with ``context`` into
    ``directory``, without prompts and without a replay file in the home directory; returns
    the project's path."""
    from cookiecutter.main import cookiecutter  # the tests' dev tools only, not the bakes'

    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "cookiecutter.yaml"
    config.write_text(f'replay_dir: "{directory}/replay"\ncookiecutters_dir: "{directory}/cc"\n')
    output = cookiecutter(
        str(template),
        no_input=True,
        output_dir=str(directory),
        config_file=str(config),
        extra_context=context,
    )
    return Path(output)


def run_dev_tool(command: list[str], cwd: Path, timeout: float = 120) -> str:
    """Run one of the template's dev tools (hadolint, kubectl, ...): the copy pinned beside this
    interpreter when there is one, else the one on PATH (promtool, from a Debian package)."""
    tool = Path(sys.executable).parent / command[0]
    return run([str(tool) if tool.exists() else command[0], *command[1:]], cwd, timeout)


def unlocked_pins(project: Path) -> list[str]:
    """The pins of requirements.in that its lock leaves out (torch, whose CPU build is not on
    PyPI): the bake's Makefile installs them on their own, without dependencies."""
    locked = {
        line.split("==")[0].lower() for line in (project / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    }  # fmt: skip
    pins = [
        line.strip() for line in (project / "requirements.in").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    ]  # fmt: skip
    return [pin for pin in pins if pin.split("==")[0].split("[")[0].lower() not in locked]


def project_venv(project: Path) -> Path:
    """The virtualenv with a bake's locked requirements, installed as its Makefile does (every
    file checked against its hash), shared by bakes with the same locks."""
    files = [project / "requirements.txt", project / "requirements-dev.txt"]
    unlocked = unlocked_pins(project)
    digest = hashlib.sha256(
        b"".join(path.read_bytes() for path in files) + "\n".join(unlocked).encode()
    ).hexdigest()[:16]
    venv = VENV_CACHE / digest
    if not (venv / ".complete").exists():
        run([sys.executable, "-m", "venv", "--clear", str(venv)])
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        pip.append("--disable-pip-version-check")
        run([*pip, "--require-hashes", *[a for f in files for a in ("-r", str(f))]])
        if unlocked:
            run([*pip, "--no-deps", *unlocked])
        (venv / ".complete").touch()
    return venv


def package_name(project: Path) -> str:
    """A bake's import package: the one folder under src/ that is not build metadata.

    Building a wheel from the bake (Installed.install) leaves a ``*.egg-info`` beside it.
    """
    return next(p.name for p in (project / "src").iterdir() if p.suffix != ".egg-info")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a bake's processes: none of the caller's service settings leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MODEL_"))}
    env.update(extra)
    return env
