"""The model: yours to edit.

``predict.py`` (preprocess -> model -> postprocess) is the one place to change; ``schemas.py``
and ``features.py`` say what a request holds, ``training.py`` fits the example model and
``example_data.py`` gives it data. Nothing here knows about HTTP, the store or monitoring.
"""
