"""A Flask + gunicorn service for the {{ cookiecutter.model_name }} model."""

#: The framework and task this service was generated for; metadata.json records them and the
#: model store refuses versions made for others.
FRAMEWORK = "{{ cookiecutter.framework }}"
TASK = "{{ cookiecutter.task }}"
