"""Template fixes reach projects baked earlier, through cruft (docs/updating.md).

``cruft create`` bakes what ``cookiecutter`` bakes, plus a ``.cruft.json`` naming the
template's commit; ``cruft update`` later renders the project's answers at that commit and at
the template's newest, and applies the difference to the project with git's 3-way merge. The
slow test takes a project from v1.0.0 (FROM_COMMIT, the first release in the current layout),
makes a user's edits, and updates it to this checkout.

cruft clones the template with git, so the tests work on a clone of this repository with the
working tree committed on top: the commit under test, even before it is committed here.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bakery import TEMPLATE, bake_into, clean_env, run
from combos import COMBOS, DEFAULT, Combo

#: v1.0.0: issue 16's layout (model/, service/, store/, ...), released 2026-12-04. Updates
#: from before it cross the move of every module and are not supported (CHANGELOG.md).
FROM_COMMIT = "ed180f5c798ac5632505e899234c7fea999767ef"
CRUFT = Path(sys.executable).parent / "cruft"
#: Answers that take every private answer (__serializer, __encoding, __example_data) and the
#: deployment options off their defaults, beside the default bake.
OTHER = next(combo for combo in COMBOS if combo.framework == "pytorch" and combo.api_key)


def git(*args: str, cwd: Path) -> str:
    return run(["git", *args], cwd=cwd, env=git_env(cwd))


def git_env(home: Path) -> dict[str, str]:
    """No user's git or cookiecutter configuration, and a fixed identity for commits."""
    return clean_env(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="A User",
        GIT_AUTHOR_EMAIL="user@example.com",
        GIT_COMMITTER_NAME="A User",
        GIT_COMMITTER_EMAIL="user@example.com",
    )


def cruft(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """cruft in a process of its own, as a user runs it (it renders both commits in it)."""
    return subprocess.run(
        [str(CRUFT), *args], cwd=cwd, env=git_env(cwd), capture_output=True, text=True,
        timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A clone of this repository, its working tree committed on top; and that commit."""
    home = tmp_path_factory.mktemp("template-home")
    clone = home / "cookiecutter-flask-ml"
    run(["git", "clone", "--quiet", str(TEMPLATE), str(clone)], env=git_env(home))
    if subprocess.run(["git", "cat-file", "-e", f"{FROM_COMMIT}^{{commit}}"], cwd=clone).returncode:
        # A shallow checkout: its origin has the history.
        git("fetch", "--quiet", "--unshallow", cwd=clone)
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], TEMPLATE)
    for name in filter(None, listed.split("\0")):
        source, target = TEMPLATE / name, clone / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif target.exists():  # deleted here, not yet committed
            target.unlink()
    git("add", "--all", cwd=clone)
    if git("status", "--porcelain", cwd=clone).strip():
        git("commit", "--quiet", "--message", "The working tree under test", cwd=clone)
    return clone, git("rev-parse", "HEAD", cwd=clone).strip()


def cruft_create(template: Path, into: Path, combo: Combo, commit: str) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    created = cruft(
        "create", "--no-input", "--checkout", commit, "--output-dir", str(into), str(template),
        *(["--extra-context", json.dumps(combo.context)] if combo.context else []),
        cwd=into,
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    (project,) = (path for path in into.iterdir() if path.is_dir())
    return project


def tree(root: Path) -> set[str]:
    """Every file under root, relative, but git's own."""
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def differing(left: Path, right: Path, names: set[str]) -> list[str]:
    return sorted(name for name in names if not filecmp.cmp(left / name, right / name, False))


@pytest.mark.parametrize("combo", [DEFAULT, OTHER], ids=lambda combo: combo.id)
def test_cruft_create_bakes_what_cookiecutter_bakes(
    template_repo: tuple[Path, str], combo: Combo, tmp_path: Path
) -> None:
    """Two renders of the same answers, by two tools in two processes, are byte-identical
    (the hooks are deterministic: no network, no git, no time, no randomness), and cruft
    adds only .cruft.json, which records the commit and not the private answers' old rules."""
    template, commit = template_repo
    with_cruft = cruft_create(template, tmp_path / "cruft", combo, commit)
    with_cookiecutter = bake_into(tmp_path / "cookiecutter", template=template, **combo.context)
    files = tree(with_cookiecutter)
    assert tree(with_cruft) == files | {".cruft.json"}
    assert differing(with_cruft, with_cookiecutter, files) == []

    state = json.loads((with_cruft / ".cruft.json").read_text())
    assert state["commit"] == commit
    assert state["context"]["cookiecutter"]["_extensions"] == [
        "template_extensions.TemplateExtensions"
    ]
    # cruft re-derives "_" and "__" answers from the newer template on update; the ones it
    # records here are the rendered values, for reading only.
    recorded = state["context"]["cookiecutter"]
    assert recorded["__serializer"] != "auto"


# The edits a user makes after baking: their model's output (predict.py), a feature of their
# own in a file the template also changes (a command added at the end of cli.py), and a test.
ROUNDING = """        {"label": label, "probabilities": dict(zip(names, row, strict=True))}"""
ROUNDED = """        {
            "label": label,
            # Ours: four decimals are all our callers show.
            "probabilities": {n: round(p, 4) for n, p in zip(names, row, strict=True)},
        }"""
COMMAND = '''

@models.command("classes")
def classes_command() -> None:
    """Print the classes of the production version, one per line (ours)."""
    store = _store()
    with _clean_errors():
        metadata = store.metadata(store.resolve("production"))
    for name in metadata["classes"]:
        click.echo(name)
'''
OWN_TEST = '''"""Our own changes: rounded probabilities."""

import numpy as np

from iris_classifier.model.predict import postprocess


def test_probabilities_are_rounded_to_four_decimals() -> None:
    (answer,) = postprocess(np.array(["a", "b"]), np.array([[1 / 3, 2 / 3]]))
    assert answer["probabilities"] == {"a": 0.3333, "b": 0.6667}
'''


def make_users_edits(project: Path) -> dict[str, str]:
    """Edit the project as its user would; returns each edited file's new text."""
    package = project / "src" / "iris_classifier"
    predict = package / "model" / "predict.py"
    text = predict.read_text(encoding="utf-8")
    assert ROUNDING in text
    predict.write_text(text.replace(ROUNDING, ROUNDED), encoding="utf-8")
    cli = package / "cli.py"
    cli.write_text(cli.read_text(encoding="utf-8") + COMMAND, encoding="utf-8")
    (project / "tests" / "test_our_changes.py").write_text(OWN_TEST, encoding="utf-8")
    return {
        name: (project / name).read_text(encoding="utf-8")
        for name in (
            "src/iris_classifier/model/predict.py",
            "src/iris_classifier/cli.py",
            "tests/test_our_changes.py",
        )
    }


@pytest.mark.slow
def test_a_project_from_v1_0_0_takes_the_update_and_keeps_its_edits(
    template_repo: tuple[Path, str],
    project_venv: Callable[[Path], Path],
    postgres_url: str,
    tmp_path: Path,
) -> None:
    template, commit = template_repo
    project = cruft_create(template, tmp_path / "user", DEFAULT, FROM_COMMIT)
    git("init", "--quiet", "--initial-branch", "main", cwd=project)
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "--message", "Baked at v1.0.0", cwd=project)
    behind = cruft("check", cwd=project)
    assert behind.returncode != 0, behind.stdout + behind.stderr
    edits = make_users_edits(project)
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "--message", "Our model's output, a command and a test", cwd=project)

    updated = cruft("update", "--skip-apply-ask", "--checkout", commit, cwd=project)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "Good work!" in updated.stdout, updated.stdout + updated.stderr
    assert cruft("check", "--checkout", commit, cwd=project).returncode == 0

    # No rejected hunk, no file left in conflict, no conflict marker anywhere.
    files = tree(project)
    assert [name for name in files if name.endswith((".rej", ".orig"))] == []
    assert git("diff", "--name-only", "--diff-filter=U", cwd=project).strip() == ""
    for name in files:
        text = (project / name).read_bytes()
        assert b"\n<<<<<<< " not in text, name
        assert b"\n>>>>>>> " not in text, name

    # Every file the user did not touch is what a fresh bake at the new commit holds.
    fresh = cruft_create(template, tmp_path / "fresh", DEFAULT, commit)
    untouched = tree(fresh) - set(edits) - {".cruft.json"}
    assert files - set(edits) == tree(fresh) - set(edits)
    assert differing(project, fresh, untouched) == []
    # The user's edits are kept, merged with the template's changes to the same files.
    predict = (project / "src/iris_classifier/model/predict.py").read_text(encoding="utf-8")
    assert "round(p, 4)" in predict
    cli = (project / "src/iris_classifier/cli.py").read_text(encoding="utf-8")
    assert "def classes_command()" in cli
    assert "def pack_command(" in cli  # the template's since v1.0.0
    own_test = project / "tests" / "test_our_changes.py"
    assert own_test.read_text(encoding="utf-8") == edits["tests/test_our_changes.py"]

    # The updated project's own suite passes, the user's test and the new template's alike,
    # and the user's command answers.
    python = project_venv(project) / "bin" / "python"
    env = clean_env(
        TEST_DATABASE_URL=postgres_url, HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path / "hypothesis")
    )
    output = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, env=env)
    assert " passed" in output
    assert " failed" not in output
    store = {**env, "MODEL_STORE": str(tmp_path / "models"), "PYTHONPATH": str(project / "src")}
    cli_command = [str(python), "-c", "from iris_classifier.cli import main; main()"]
    run([*cli_command, "train-example"], project, env=store)
    assert run([*cli_command, "models", "classes"], project, env=store).split() == [
        "setosa",
        "versicolor",
        "virginica",
    ]
