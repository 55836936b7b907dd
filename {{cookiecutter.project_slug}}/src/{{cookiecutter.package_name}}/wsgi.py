"""The WSGI entry point: ``gunicorn {{ cookiecutter.package_name }}.wsgi:app``."""

from .service.app import create_app

app = create_app()
