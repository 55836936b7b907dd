"""``python -m {{ cookiecutter.package_name }}``: the same command line as ``{{ cookiecutter.project_slug }}``."""

from .cli import main

main()
