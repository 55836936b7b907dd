"""A Flask + gunicorn service for the {{ cookiecutter.model_name }} model."""
{%- if cookiecutter.framework == "tensorflow" %}

import os

# TensorFlow reads these when it is first imported, which this package does after this file:
# warnings and errors only on stderr (2), and no oneDNN notice (the same numerics on every CPU).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
{%- endif %}

#: The framework and task this service was generated for; metadata.json records them and the
#: model store refuses versions made for others.
FRAMEWORK = "{{ cookiecutter.framework }}"
TASK = "{{ cookiecutter.task }}"
