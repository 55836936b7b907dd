"""Slow layer: every command on the quick start, notebook and rollback pages runs as written.

The three pages (``docs/quickstart.md``, ``docs/notebook.md``, ``docs/rollback.md``) keep one
convention, so that they cannot drift from what the template does:

- A ```` ```console ```` block holds commands and their output. A line starting with ``$ `` is
  a command (a line ending in a backslash continues it on the next); the lines after it are
  what it prints, and they are checked: each must match a line of the real output (stdout and
  stderr together), in order, where ``...`` stands for any text. Lines not shown are allowed.
  A ```` ```bash ```` block is one command, its output not checked.
- The commands run in order in one bash session per page (``set -uo pipefail``; a command
  that exits non-zero fails the test), each within a timeout, in an empty temporary directory
  that is also ``$HOME``. The notebook page runs once per framework section (``## scikit-learn``,
  ``## PyTorch``, ``## TensorFlow``): every block but those of the other two sections.
- A console or bash block whose first line starts with ``# in another terminal`` runs in the
  background, from the current directory, in a session of its own. The test waits for the
  service to answer ``/livez`` before going on, stops it at the end by its process group id
  (SIGINT, as Ctrl-C would), and then checks the block's output against what it logged.
- ```` ```python ```` blocks are notebook cells: a run of them (not interrupted by a console or
  bash block) is one script, run by the project's ``.venv/bin/python`` from the shell's
  current directory, as the project's kernel (``make kernel``) would run them; a
  ```` ```text ```` block right after a python block is what the script prints, checked as a
  console block's output is. Python blocks before the notebook page's first framework section
  start each section's first script.
- Other ```` ```text ```` blocks, and ```` ```json ```` ones, are illustrations, not run. A
  ``{code-block}`` whose ``:caption:`` names a file is an excerpt of the project baked above
  it: each of its lines but ``...`` must be in that file, in that order. The one named
  ``quickstart-prompts`` is checked against an interactive bake, pressing Enter at every prompt.
  No other kind of block may appear on these pages.

The only substitutions (``SUBSTITUTIONS`` below, and the seeding around ``make``):

- ``path/to/cookiecutter-flask-ml`` is this checkout of the template;
- ``127.0.0.1:8000`` is ``127.0.0.1:<a free port>``, in commands and expected output; the
  session exports that port as ``PORT``, which ``make serve`` reads;
- ``pip install cookiecutter==X`` links the template's own tools' cookiecutter into the
  active venv, after checking that it is version X (the pin of pyproject.toml): no download;
- before a ``make`` command in a project without ``.venv``, the test seeds ``.venv`` as
  ``make install`` leaves it, without a download: a venv whose packages are the cached venv
  with the bake's locked requirements (``bakery.project_venv``, shared with the bake suites),
  plus the project's source, metadata and command; ``make install`` then finds nothing to do
  (``test_quick_start.py`` runs the real one);
- the notebook and rollback pages start with ``~/.venvs/cookiecutter`` as the quick start
  leaves it (made with the substitution above).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import bakery
from http_client import request
from report import say
from served import free_port

DOCS = bakery.TEMPLATE / "docs"
TOOLS = Path(sys.executable).parent  # the template's tool venv: cookiecutter, pytest, ...
FRAMEWORK_SECTIONS = ("scikit-learn", "PyTorch", "TensorFlow")
#: (page, framework section or None for the whole page), each one bash session.
CASES = [
    ("quickstart.md", None),
    ("notebook.md", "scikit-learn"),
    ("notebook.md", "PyTorch"),
    ("notebook.md", "TensorFlow"),
    ("rollback.md", None),
]
IDS = ["quickstart", "notebook-sklearn", "notebook-pytorch", "notebook-tensorflow", "rollback"]
BACKGROUND = "# in another terminal"
PROMPTS = "quickstart-prompts"
COMMAND_TIMEOUT = 180  # seconds, for one command (a TensorFlow import takes 10 on a busy CI)
SEED_TIMEOUT = 1800  # building a framework's venv, when the bake suites have not
SCRIPT_TIMEOUT = 600  # a run of python blocks: fitting a network
START_TIMEOUT = 120  # a background service's first answer


def substitutions(port: int) -> list[tuple[str, str]]:
    """(page text, what the test runs instead): the whole list."""
    return [
        ("path/to/cookiecutter-flask-ml", shlex.quote(str(bakery.TEMPLATE))),
        ("127.0.0.1:8000", f"127.0.0.1:{port}"),
    ]


def substitute(text: str, port: int) -> str:
    for written, run in substitutions(port):
        text = text.replace(written, run)
    return re.sub(r"\bpip install cookiecutter==(\S+)", r"_docs_cookiecutter \1", text)


# The session's own functions: the seeding around make and the cookiecutter link.
PRELUDE = r"""
set -uo pipefail
_docs_cookiecutter() {  # pip install cookiecutter==$1, from the template's tools
  local have
  have=$("$DOCS_TOOLS/python" -c 'from importlib.metadata import version; print(version("cookiecutter"))')
  if [ "$have" != "$1" ]; then
    echo "the page pins cookiecutter $1; the template's tools have $have" >&2
    return 1
  fi
  ln -sf "$DOCS_TOOLS/cookiecutter" "${VIRTUAL_ENV:?activate a venv first}/bin/cookiecutter"
}
_docs_seed_venv() {  # .venv as make install leaves it, from the cache of locked requirements
  if [ -f Makefile ] && [ -f requirements.txt ] && [ ! -e .venv ]; then
    "$DOCS_TOOLS/python" "$DOCS_TEST" seed-venv "$PWD"
  fi
}
"""


# --- The pages ---------------------------------------------------------------------------


@dataclass
class Block:
    """A fenced block of a page: its info string, directive argument and options, its lines."""

    info: str
    argument: str
    options: dict[str, str]
    lines: list[str]
    line: int  # of the opening fence, 1-based
    section: str | None  # the "## " heading it is under

    @property
    def where(self) -> str:
        return f"line {self.line}"

    @property
    def background(self) -> bool:
        return bool(self.lines) and self.lines[0].startswith(BACKGROUND)


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order."""
    found: list[Block] = []
    section = None
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        opening = re.match(r"^(`{3,})\s*(\{[\w-]+\}|[\w-]*)\s*(.*)$", line)
        if not opening:
            if line.startswith("## "):
                section = line[3:].strip()
            index += 1
            continue
        fence, info, argument = opening.groups()
        start, index = index + 1, index + 1
        while index < len(lines) and lines[index].strip() != fence:
            index += 1
        body = lines[start:index]
        index += 1
        options = {}
        if info.startswith("{"):
            while body and (option := re.match(r"^:([\w-]+):\s*(.*)$", body[0])):
                options[option[1]] = option[2]
                body = body[1:]
        found.append(Block(info, argument, options, body, start, section))
    return found


def selected(page: str, section: str | None) -> list[Block]:
    """The blocks one session runs: the page's, less the other framework sections'."""
    others = [name for name in FRAMEWORK_SECTIONS if name != section] if section else []
    return [block for block in blocks(DOCS / page) if block.section not in others]


def console_steps(block: Block) -> list[tuple[str, list[str]]]:
    """A console block's (command, expected output lines), in order."""
    steps: list[tuple[str, list[str]]] = []
    continued = False
    for line in block.lines[1:] if block.background else block.lines:
        if continued:
            steps[-1] = (steps[-1][0] + "\n" + line, steps[-1][1])
            continued = line.endswith("\\")
        elif line.startswith("$ "):
            steps.append((line[2:], []))
            continued = line.endswith("\\")
        else:
            assert steps, f"{block.where}: output before any command"
            steps[-1][1].append(line)
    return steps


def first_unmatched(expected: list[str], output: str) -> str | None:
    """The first expected line not found in ``output`` after the previous one's, if any."""
    actual = [line.strip() for line in output.splitlines()]
    position = 0
    for wanted in (line.strip() for line in expected):
        if wanted in ("", "..."):
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in wanted.split("...")))
        while position < len(actual) and not pattern.fullmatch(actual[position]):
            position += 1
        if position == len(actual):
            return wanted
        position += 1
    return None


def check_excerpt(block: Block, project: Path) -> None:
    """Each line of an excerpt (but ``...``) is in the file its caption names, in order."""
    path = project / block.options["caption"]
    assert path.is_file(), f"{block.where}: no {path.relative_to(project)} in the bake"
    lines = [line.rstrip() for line in path.read_text(encoding="utf-8").splitlines()]
    position = 0
    for wanted in (line.rstrip() for line in block.lines):
        if wanted.strip() in ("", "..."):
            continue
        while position < len(lines) and lines[position] != wanted:
            position += 1
        assert position < len(lines), (
            f"{block.where}: not in {path.name} (or out of order): {wanted!r}"
        )
        position += 1


# --- A shell session ---------------------------------------------------------------------


class Shell:
    """One bash process, fed command after command as a user types them."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
        self.output: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.put(line)
        self.output.put(None)

    def run(self, command: str, timeout: float) -> tuple[int, str]:
        """Run ``command`` in the session (stdin from /dev/null); its exit status and output."""
        marker = f"__docs_done_{uuid.uuid4().hex}__"
        assert self.process.stdin is not None
        self.process.stdin.write(f"{{\n{command}\n}} < /dev/null\nprintf '\\n{marker} %d\\n' $?\n")
        self.process.stdin.flush()
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.output.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.close()
                pytest.fail(f"timed out after {timeout:.0f} s: {command}\n{''.join(lines)}")
            if line is None:
                pytest.fail(f"the shell ended during: {command}\n{''.join(lines)}")
            if line.startswith(marker):
                status = int(line.split()[-1])
                output = "".join(lines)
                return status, output[:-1] if output.endswith("\n") else output
            lines.append(line)

    def close(self) -> None:
        """End the shell and whatever it still runs in the foreground."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.reader.join(timeout=30)
        self.process.stdout.close()


def group_alive(group: int) -> bool:
    """Whether a process of this process group is still running (zombies aside). The group's
    leader counts from the start: until it has run setsid, it is still in the shell's group."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if group in (int(fields[2]), int(stat.parent.name)) and fields[0] != "Z":
            return True
    return False


def stop_group(group: int) -> None:
    """SIGINT, as Ctrl-C sends it to a terminal's foreground job; SIGKILL after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGINT)
    deadline = time.monotonic() + 30
    while group_alive(group) and time.monotonic() < deadline:
        time.sleep(0.2)
    if group_alive(group):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


# --- A session running one page (or one framework section of it) ------------------------


@dataclass
class Session:
    shell: Shell
    port: int
    scripts: Path
    background: list[tuple[int, Path, Block]] = field(default_factory=list)
    timings: list[tuple[float, str]] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    def run(self, command: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """Run a command as the page writes it (substituted); fail on a non-zero exit."""
        command = substitute(command, self.port)
        if re.match(r"\s*make\b", command):
            self._timed("_docs_seed_venv", SEED_TIMEOUT, "seeding .venv")
        return self._timed(command, timeout, command)

    def _timed(self, command: str, timeout: float, label: str) -> str:
        started = time.monotonic()
        status, output = self.shell.run(command, timeout)
        self.timings.append((time.monotonic() - started, label.splitlines()[0]))
        self.transcript.append(f"$ {command}\n{output}")
        if status != 0:
            pytest.fail(f"exit {status}: {command}\n{self.recent()}")
        return output

    def recent(self) -> str:
        return "\n".join(self.transcript[-3:])[-6000:]

    def check_output(self, block: Block, command: str, expected: list[str], output: str) -> None:
        expected = [substitute(line, self.port) for line in expected]
        if missing := first_unmatched(expected, output):
            pytest.fail(
                f"{block.where}: `{command}` printed no line matching {missing!r} "
                f"(in order):\n{output[-4000:]}"
            )

    def console(self, block: Block) -> None:
        for command, expected in console_steps(block):
            self.check_output(block, command, expected, self.run(command))

    def start_background(self, block: Block) -> None:
        if block.info == "console":
            script = "\n".join(
                substitute(command, self.port) for command, _ in console_steps(block)
            )
        else:
            script = substitute("\n".join(block.lines[1:]), self.port)
        if re.match(r"\s*make\b", script):
            self._timed("_docs_seed_venv", SEED_TIMEOUT, "seeding .venv")
        log = self.scripts / f"background-{len(self.background)}.log"
        launch = f"setsid bash -c {shlex.quote(script)} > {shlex.quote(str(log))} 2>&1 &\necho $!"
        group = int(self._timed(launch, 30, f"{script} &").split()[-1])
        self.background.append((group, log, block))
        started = time.monotonic()
        deadline = started + START_TIMEOUT
        while not self._answers("/livez"):
            if not group_alive(group) or time.monotonic() > deadline:
                pytest.fail(
                    f"{block.where}: `{script}` does not answer:\n{log.read_text()[-4000:]}"
                )
            time.sleep(0.2)
        # A service with a model becomes ready once its workers have warmed it up.
        while not self._answers("/readyz") and time.monotonic() < started + 30:
            time.sleep(0.2)
        self.timings.append((time.monotonic() - started, f"{script} (until it answers)"))

    def _answers(self, path: str) -> bool:
        try:
            return request(self.port, "GET", path, timeout=5).status == 200
        except OSError:
            return False

    def python(self, cells: list[Block], printed: list[str]) -> None:
        """Run a run of python blocks as one script with the project's venv, and check what
        it prints against the text blocks that follow them."""
        script = self.scripts / f"cells-{cells[-1].line}.py"
        script.write_text("\n\n".join("\n".join(cell.lines) for cell in cells) + "\n")
        command = f'"$PWD/.venv/bin/python" {shlex.quote(str(script))}'
        self.check_output(
            cells[-1], "the python blocks", printed, self.run(command, SCRIPT_TIMEOUT)
        )

    def stop_background(self) -> None:
        for group, log, block in self.background:
            stop_group(group)
            if block.info == "console":
                text = log.read_text(encoding="utf-8", errors="replace")
                for command, expected in console_steps(block):
                    self.check_output(block, command, expected, text)


def check_prompts(block: Block, scratch: Path) -> None:
    """The prompts excerpt: each of its lines, in order, in an interactive bake's questions
    (baked in ``scratch``, which is also its home directory)."""
    completed = subprocess.run(
        [str(TOOLS / "cookiecutter"), str(bakery.TEMPLATE)],
        input="\n" * 100,
        cwd=scratch,
        env=bakery.clean_env(HOME=str(scratch), COLUMNS="400"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    asked = " ".join(completed.stdout.split())
    position = 0
    for wanted in (" ".join(line.split()) for line in block.lines):
        if wanted in ("", "..."):
            continue
        pattern = ".*?".join(re.escape(part) for part in wanted.split("..."))
        found = re.compile(pattern).search(asked, position)
        assert found, f"{block.where}: the prompts do not show (in order): {wanted!r}"
        position = found.end()


def cookiecutter_pin() -> str:
    """The cookiecutter version the template's tools pin (pyproject.toml)."""
    dev = tomllib.loads((bakery.TEMPLATE / "pyproject.toml").read_text())["dependency-groups"]
    return next(pin.split("==")[1] for pin in dev["dev"] if pin.startswith("cookiecutter=="))


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    """An empty home directory and a bash session in it, its background commands stopped
    at the end."""
    home = tmp_path / "home"
    (tmp_path / "tmp").mkdir()
    (tmp_path / "scripts").mkdir()
    home.mkdir()
    port = free_port()
    tool_bin = TOOLS.resolve()
    path = [p for p in os.environ["PATH"].split(":") if p and Path(p).resolve() != tool_bin]
    env = bakery.clean_env(
        HOME=str(home),
        TMPDIR=str(tmp_path / "tmp"),
        PORT=str(port),
        PATH=":".join(path),
        DOCS_TOOLS=str(TOOLS),
        DOCS_TEST=str(Path(__file__).resolve()),
    )
    for variable in ("VIRTUAL_ENV", "HOST", "PYTHONPATH", "CONDA_PREFIX"):
        env.pop(variable, None)
    shell = Shell(home, env)
    current = Session(shell, port, tmp_path / "scripts")
    try:
        current._timed(PRELUDE, 10, "prelude")
        yield current
    finally:
        try:
            current.stop_background()
        finally:
            shell.close()


# --- The tests ---------------------------------------------------------------------------


def test_the_pages_keep_the_convention() -> None:
    """Every block is of a kind the slow test knows; the notebook page has its sections."""
    for page in {page for page, _ in CASES}:
        for block in blocks(DOCS / page):
            where = f"{page} {block.where}"
            if block.info == "{code-block}":
                assert block.options.get("caption") or block.options.get("name") == PROMPTS, where
            else:
                assert block.info in ("console", "bash", "python", "text", "json"), where
            if block.info == "console":
                assert console_steps(block), f"{where}: a console block without a command"
    sections = {block.section for block in blocks(DOCS / "notebook.md")}
    assert set(FRAMEWORK_SECTIONS) <= sections
    assert f"pip install cookiecutter=={cookiecutter_pin()}" in (DOCS / "quickstart.md").read_text()


def test_console_blocks_read_as_commands_and_checked_output() -> None:
    """``$ `` lines are commands (a backslash continues one); "..." stands for any text."""
    block = Block("console", "", {}, ["$ echo a \\", "  b", "a b", "$ true"], 1, None)
    assert console_steps(block) == [("echo a \\\n  b", ["a b"]), ("true", [])]
    output = "Registered v1 in models/x (holdout 0.967)\nproduction -> 1"
    assert first_unmatched(["Registered v1 in ... (holdout 0.967)", "..."], output) is None
    assert first_unmatched(["production -> 1", "Registered ..."], output) == "Registered ..."
    assert first_unmatched(["Registered v2 ..."], output) == "Registered v2 ..."


@pytest.mark.slow
@pytest.mark.parametrize(("page", "section"), CASES, ids=IDS)
def test_every_command_on_the_page_runs(
    page: str, section: str | None, session: Session, pytestconfig: pytest.Config
) -> None:
    started = time.monotonic()
    chosen = selected(page, section)
    if page != "quickstart.md":  # the quick start's cookiecutter venv, as it leaves it
        session.run("python3 -m venv --without-pip ~/.venvs/cookiecutter")
        session.run("VIRTUAL_ENV=~/.venvs/cookiecutter _docs_cookiecutter " + cookiecutter_pin())
    # Python blocks before the first framework section start that section's first script.
    leading = [b for b in chosen if b.info == "python" and b.section not in FRAMEWORK_SECTIONS]
    leading = leading if section else []
    cells: list[Block] = []
    printed: list[str] = []  # what the cells print: the text blocks right after them
    previous = None
    for block in [*chosen, None]:
        previous, after_cell = block, previous is not None and previous.info == "python"
        if block is not None and block.info == "python":
            if block not in leading:
                cells.append(block)
            continue
        if block is not None and block.info == "text" and after_cell and cells:
            printed += block.lines
            continue
        if cells:
            session.python([*leading, *cells], printed)
            leading, cells, printed = [], [], []
        if block is None:
            break
        if block.info in ("console", "bash") and block.background:
            session.start_background(block)
        elif block.info == "console":
            session.console(block)
        elif block.info == "bash":
            session.run("\n".join(block.lines))
        elif block.options.get("name") == PROMPTS:
            check_prompts(block, session.scripts)
        elif block.info == "{code-block}":
            check_excerpt(block, Path(session.run("pwd").strip()))
    assert not leading, "python blocks before the sections, but no python block in the section"
    session.stop_background()
    session.background.clear()
    slowest = sorted(session.timings, reverse=True)[:4]
    say(
        pytestconfig,
        "docs commands",
        f"{page} {section or ''}: {time.monotonic() - started:.0f} s; slowest: "
        + "; ".join(f"{seconds:.1f} s {label[:60]}" for seconds, label in slowest),
    )


# --- Seeding .venv (run by the session's _docs_seed_venv) --------------------------------


def seed_venv(project: Path) -> None:
    """``project/.venv`` as ``make install`` leaves it, from the cached locked requirements:
    the cached venv's packages, the project's source (as an editable install puts it), its
    distribution's metadata and its command."""
    cached = bakery.project_venv(project)
    venv = project / ".venv"
    bakery.run([str(cached / "bin" / "python"), "-m", "venv", "--without-pip", str(venv)])
    site = next(venv.glob("lib/python*/site-packages"))
    cached_site = next(cached.glob("lib/python*/site-packages"))
    (site / "_docs_locked_requirements.pth").write_text(
        f"import site; site.addsitedir({str(cached_site)!r})\n"
    )
    (site / "_docs_project_source.pth").write_text(f"{project / 'src'}\n")
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    name = metadata["name"]
    info = site / f"{name.replace('-', '_')}-{metadata['version']}.dist-info"
    info.mkdir()
    pins = [
        line.split("#")[0].strip()
        for line in (project / "requirements.in").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {metadata['version']}\n"
        + "".join(f"Requires-Dist: {pin}\n" for pin in pins)
    )
    for command, target in metadata["scripts"].items():
        module, function = target.split(":")
        script = venv / "bin" / command
        script.write_text(
            f"#!{venv / 'bin' / 'python'}\nimport sys\n\nfrom {module} import {function}\n\n"
            f"if __name__ == '__main__':\n    sys.exit({function}())\n"
        )
        script.chmod(0o755)
    print(f"seeded {venv} from {cached.name}")


if __name__ == "__main__":
    assert sys.argv[1] == "seed-venv", sys.argv
    seed_venv(Path(sys.argv[2]))
