"""The one Jinja extension cookiecutter.json names: it loads local_extensions.py afresh each
time cookiecutter builds its Jinja environment, and applies the extensions listed there.

Why not name local_extensions' classes in ``_extensions`` directly: Python imports a module
once per process. ``cruft update`` renders two commits of this template in one process, the
project's old commit first, then the new one, from the same checkout; the second render would
get the first commit's filters and framework facts from the module cache (a filter added since
then is simply missing, and the update fails). Reading the file each time gives each commit
its own.

Keep this module as it is. It too is imported once per process, so an update renders the new
commit with the old commit's copy of it; a change here reaches projects only if it comes under
a new module name.
"""

import importlib.machinery
import importlib.util
import sys

from jinja2 import Environment
from jinja2.ext import Extension

#: The module holding the template's filters and globals, found on sys.path as an import
#: finds it (cookiecutter and cruft put the template's checkout there while rendering).
MODULE = "local_extensions"


def load_fresh(name: str = MODULE):
    """Execute the module's current source, whatever an earlier import cached, and make it
    the module that name imports from now on."""
    spec = importlib.machinery.PathFinder.find_spec(name)
    if spec is None or spec.origin is None:
        raise ImportError(f"the template's {name}.py is not on sys.path")
    module = importlib.util.module_from_spec(spec)
    # Compiled from the source, not a __pycache__ file: two commits' copies can share a size
    # and a modification second, which is all a .pyc's check compares.
    with open(spec.origin, encoding="utf-8") as source:
        code = compile(source.read(), spec.origin, "exec")
    sys.modules[name] = module
    exec(code, module.__dict__)
    return module


class TemplateExtensions(Extension):
    """Every extension local_extensions.EXTENSIONS lists, from that file as it is now."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        for extension in load_fresh().EXTENSIONS:
            # Each adds its filters and globals to the environment it is made with.
            extension(environment)
