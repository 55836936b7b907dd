"""Each framework's image, built and run with podman: size, build time, cold start, memory.

    .venv/bin/python benchmarks/images.py [--frameworks sklearn pytorch tensorflow]
                                          [--torch-wheelhouse DIR]

For each framework: bake the iris classifier, build its image with no layer cache on the
stand-in base of tests/podman.py, register the example model into a fresh store from a
throwaway container, then start the image with production flags (read-only, no capabilities)
and time `podman run` to /readyz 200, twice; then the proportional set size (PSS) of the
container's processes once ready. The bare base image's size is printed beside them.

PyTorch's CPU-only index is not reachable from every machine: ``--torch-wheelhouse`` serves a
folder holding the same CPU wheel on 127.0.0.1 to the build (PIP_FIND_LINKS), with PyPI for the
rest.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from loadgen import pss_mib

from bakery import TEMPLATE, bake_into
from podman import Podman, missing_tools
from served import free_port

FRAMEWORKS = ("sklearn", "pytorch", "tensorflow")
HARDENED = ("--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--memory", "4g")
SERVICE_UID = 10001


def cold_start(podman: Podman, image: str, store: Path) -> tuple[float, float]:
    """Seconds from `podman run` to /readyz 200, and the container's PSS in MiB once ready."""
    with podman.serving(image, *HARDENED, "--volume", f"{store}:/models") as (name, _, seconds):
        time.sleep(2)  # let the workers settle after the warm-up
        return seconds, pss_mib(podman.state(name)["Pid"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", nargs="+", default=FRAMEWORKS, choices=FRAMEWORKS)
    parser.add_argument("--torch-wheelhouse", type=Path, help="a folder with the CPU torch wheel")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        sys.exit(f"install {', '.join(missing)} first (see .ci/run)")
    podman = Podman(TEMPLATE / ".cache" / "podman")
    base = podman.ensure_base_image()
    print(f"base image (stand-in for python:3.11-slim): {podman.image_size(base) / 1e6:.0f} MB")
    print("framework   image MB   build s   cold start s (1st, 2nd)   PSS MiB when ready")
    with tempfile.TemporaryDirectory() as work:
        for framework in args.frameworks:
            project = bake_into(Path(work) / framework, framework=framework)
            tag = f"localhost/image-benchmark-{framework}:latest"
            build_args, wheelhouse = {}, None
            if framework == "pytorch" and args.torch_wheelhouse:
                port = free_port()
                wheelhouse = subprocess.Popen(
                    [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                    cwd=args.torch_wheelhouse,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                build_args = {
                    "PIP_FIND_LINKS": f"http://127.0.0.1:{port}/",
                    "PIP_EXTRA_INDEX_URL": "https://pypi.org/simple",
                }
            try:
                seconds = podman.build(project, tag, "--no-cache", **build_args)
            finally:
                if wheelhouse:
                    wheelhouse.terminate()
                    wheelhouse.wait()
            store = Path(work) / f"{framework}-models"
            store.mkdir()
            shutil.chown(store, SERVICE_UID, SERVICE_UID)
            podman(
                "run", "--rm", *podman.ulimits, "--volume", f"{store}:/models", tag,
                "train-example", timeout=900,
            )  # fmt: skip
            first, _ = cold_start(podman, tag, store)
            second, pss = cold_start(podman, tag, store)
            size = podman.image_size(tag) / 1e6
            print(
                f"{framework:<11} {size:>8.0f}   {seconds:>7.0f}   {first:>8.1f}, {second:>4.1f}"
                f"{pss:>26.0f}",
                flush=True,
            )
            podman.attempt("rmi", "--force", tag)


if __name__ == "__main__":
    main()
