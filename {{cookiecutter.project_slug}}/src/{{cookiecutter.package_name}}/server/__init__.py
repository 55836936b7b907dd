"""gunicorn's side: the worker that reads requests whole, and how workers share connections."""
