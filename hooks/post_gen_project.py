"""Keep the files of the options chosen, drop the others, and print the next steps.

Files that differ by option live under _variants/<option>/<value>/, laid out like the project.
The chosen value's files are moved into place and _variants/ is deleted, so the project holds
one version of each file and no trace of the options not chosen. Filesystem only: no network,
no pip, no prompts.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

# The answers arrive as a JSON string literal: no quote, backslash or brace in them can break
# this file.
ANSWERS: dict = json.loads({{ cookiecutter | tojson | tojson }})

VARIANTS_DIR = "_variants"
# Folder under _variants/ -> the answers whose values, joined by "-", name the chosen subfolder.
VARIANTS: dict[str, tuple[str, ...]] = {
    "framework": ("framework",),
    "serializer": ("__serializer",),
    "task": ("task",),
    "framework-task": ("framework", "task"),
    "example_data": ("__example_data", "task"),
    "example_inputs": ("__example_data",),
    "encoding": ("__encoding",),
    "monitoring_stack": ("monitoring_stack",),
    "container": ("container",),
    "kubernetes": ("kubernetes",),
    "ci": ("ci",),
    "auth": ("auth",),
    "template_updates": ("template_updates",),
}
# An option's value "none" adds no files, so it needs no folder.
NO_FILES = "none"
# What a variant keeps for the template alone (a framework's facts, the pieces shared files
# include): read while rendering, never moved into the project.
FOR_THE_TEMPLATE = "_template"


def chosen_variant(project: Path, option: str, answers: dict) -> Path:
    """The folder of the variant the answers picked for one option."""
    value = "-".join(answers[key] for key in VARIANTS[option])
    return project / VARIANTS_DIR / option / value


def move_into_place(variant: Path, project: Path) -> list[Path]:
    """Move every file of a variant folder, but what it keeps for the template, to the same
    relative path in the project."""
    moved = []
    files = (path for path in variant.rglob("*") if path.is_file())
    for source in sorted(p for p in files if FOR_THE_TEMPLATE not in p.relative_to(variant).parts):
        target = project / source.relative_to(variant)
        if target.exists():
            raise FileExistsError(f"variant file {source} would overwrite {target}")
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
        moved.append(target)
    return moved


def apply_variants(project: Path, answers: dict) -> None:
    """Put the chosen variant of each option in place and remove all variant folders."""
    for option in VARIANTS:
        variant = chosen_variant(project, option, answers)
        if variant.name == NO_FILES and not variant.exists():
            continue
        if not variant.is_dir():
            raise FileNotFoundError(f"the template has no variant {variant}")
        move_into_place(variant, project)
    shutil.rmtree(project / VARIANTS_DIR)


def next_steps(answers: dict) -> str:
    slug = answers["project_slug"]
    return "\n".join(
        [
            f"Baked {slug}. Next:",
            f"  cd {slug}",
            "  make install        # a virtualenv with the pinned dependencies",
            "  make train-example  # trains the example model, registers it and promotes it",
            "  make serve          # gunicorn on http://127.0.0.1:8000 (see README.md)",
        ]
    )


def main() -> int:
    apply_variants(Path.cwd(), ANSWERS)
    print(next_steps(ANSWERS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
