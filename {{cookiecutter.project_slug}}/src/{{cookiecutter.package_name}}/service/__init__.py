"""The HTTP service: the app factory, its API, settings, errors, logs and the served model."""
