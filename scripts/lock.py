"""Resolve each framework's lock files: requirements.txt and requirements-dev.txt, with hashes.

    .venv/bin/python scripts/lock.py                   every framework
    .venv/bin/python scripts/lock.py pytorch           one
    .venv/bin/python scripts/lock.py --make TORCH_FIND_LINKS=DIR   (DIR: a local copy of the CPU torch wheel)

Each framework's input lists are the bake's requirements.in (the service's direct
dependencies and the framework's fragment) and requirements-dev.in. The script bakes the
framework, runs the bake's own `make lock` there with the uv pinned beside this interpreter,
and copies the two locks into _variants/framework/<name>/, where the bake takes them from. The
lock command is the one users run in their project, so a lock made here and one made there
agree. tests/test_bake.py fails when a lock no longer holds its inputs' pins.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ROOT / "{{cookiecutter.project_slug}}" / "_variants" / "framework"
LOCKS = ("requirements.txt", "requirements-dev.txt")
UV = Path(sys.executable).parent / "uv"


def frameworks() -> list[str]:
    return json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))["framework"]


def lock(framework: str, make_variables: list[str]) -> None:
    with tempfile.TemporaryDirectory() as work:
        project = Path(
            cookiecutter(
                str(ROOT), no_input=True, output_dir=work, extra_context={"framework": framework}
            )
        )
        # The bake holds the current locks: uv keeps their pins where the inputs allow, as
        # it does in a user's project, so a changed input moves only what it must.
        subprocess.run(["make", "lock", f"UV={UV}", *make_variables], cwd=project, check=True)
        for name in LOCKS:
            shutil.copyfile(project / name, VARIANTS / framework / name)
    print(f"locked {framework}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("framework", nargs="*", help="default: every framework")
    parser.add_argument(
        "--make", action="append", default=[], metavar="NAME=VALUE",
        help="a variable for the bake's `make lock` (repeatable)",
    )  # fmt: skip
    arguments = parser.parse_args()
    for framework in arguments.framework or frameworks():
        lock(framework, arguments.make)
    return 0


if __name__ == "__main__":
    sys.exit(main())
