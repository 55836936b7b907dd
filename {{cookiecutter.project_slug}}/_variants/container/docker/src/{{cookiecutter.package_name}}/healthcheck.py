"""The container's HEALTHCHECK: exit 0 when the service on this host answers /livez with 200.

``python -m {{ cookiecutter.package_name }}.healthcheck`` runs it with only the standard library,
so the image needs no curl and the check costs one short-lived interpreter.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def check(port: int, path: str = "/livez", timeout: float = 3.0) -> str | None:
    """None when ``http://127.0.0.1:<port><path>`` answers 200; otherwise what went wrong."""
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return None if response.status == 200 else f"{url} answered {response.status}"
    except urllib.error.HTTPError as error:
        return f"{url} answered {error.code}"
    except OSError as error:  # refused, reset, timed out
        return f"{url} did not answer: {error}"


def port() -> int:
    """The service's port, chosen as ``ServerSettings`` chooses it (a platform's port, then
    PORT), without importing the service: the check must stay cheap."""
    for variable in ("SAGEMAKER_BIND_TO_PORT", "AIP_HTTP_PORT", "PORT"):
        if os.environ.get(variable):
            return int(os.environ[variable])
    return 8000


def main() -> int:
    problem = check(port())
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
