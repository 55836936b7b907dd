"""Build and run a bake's image with podman: no Docker daemon, no container registry.

What makes podman work on a CI machine like ours (found by ../shared/container-recipe.sh):
- its own containers.conf and storage.conf under one directory (nothing under /etc changes):
  runc as the runtime (crun refuses a hybrid cgroup layout) and explicit ulimits, because the
  defaults ask for more than the machine lets a process keep;
- ``podman build --isolation chroot --format docker`` (the docker format keeps HEALTHCHECK);
- a Debian bookworm root filesystem made by debootstrap standing in for python:3.11-slim,
  which cannot be pulled here: the bakes' Dockerfiles take their base from BASE_IMAGE. It
  trusts the host's extra CA certificates, so pip inside a build passes a TLS-inspecting proxy.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bakery import run
from http_client import wait_for
from served import free_port

TOOLS = ("podman", "runc", "debootstrap")
BASE_IMAGE = "localhost/pybase:bookworm"
# The Python of the stand-in base: only bakes for this python_version build faithfully on it.
BASE_PYTHON = "3.11"
EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def _debian_mirror() -> str:
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    return "http://deb.debian.org/debian"


class Podman:
    """podman with a private configuration and image store under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nofile = 65536 if hard == resource.RLIM_INFINITY else hard
        # Given explicitly to builds and runs too: any --ulimit replaces the whole default list.
        self.ulimits = ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "nproc=4096:4096"]
        (root / "containers.conf").write_text(
            "[containers]\n"
            f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc=4096:4096"]\n'
            '[engine]\nruntime = "runc"\n'
        )
        (root / "storage.conf").write_text(
            f'[storage]\ndriver = "overlay"\ngraphroot = "{root / "storage"}"\n'
            f'runroot = "{root / "runroot"}"\n'
        )
        self.env = {
            **os.environ,
            "CONTAINERS_CONF": str(root / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"),
        }

    def __call__(self, *args: str, timeout: float = 600) -> str:
        """Run ``podman ARGS``; raise with its output if it fails."""
        return run(["podman", *args], env=self.env, timeout=timeout)

    def attempt(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``podman ARGS`` and return the result, whatever its exit status."""
        return subprocess.run(
            ["podman", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def ensure_base_image(self) -> str:
        """The stand-in base image, made once: a debootstrapped tar kept beside the store."""
        if self.attempt("image", "exists", BASE_IMAGE).returncode == 0:
            return BASE_IMAGE
        tarball = self.root / "pybase-bookworm.tar"
        if not tarball.exists():
            self._bootstrap(tarball)
        self(
            "import",
            "--change", "ENV LANG=C.UTF-8",
            "--change", "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
            "--change", "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
            "--change", 'CMD ["python3"]',
            str(tarball), BASE_IMAGE,
        )  # fmt: skip
        return BASE_IMAGE

    def _bootstrap(self, tarball: Path) -> None:
        with tempfile.TemporaryDirectory(dir=self.root) as work:
            rootfs = Path(work) / "rootfs"
            run(
                [
                    "debootstrap", "--variant=minbase",
                    "--include=python3,python3-venv,ca-certificates",
                    "bookworm", str(rootfs), _debian_mirror(),
                ],
                timeout=900,
            )  # fmt: skip
            certificates = sorted(EXTRA_CA_DIR.glob("*.crt"))
            for certificate in certificates:
                shutil.copy(certificate, rootfs / "usr/local/share/ca-certificates")
            if certificates:
                run(["chroot", str(rootfs), "update-ca-certificates"])
            # What debian:*-slim, under python:*-slim, leaves out too.
            for folder in ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale",
                           "var/lib/apt/lists", "var/cache/apt"):  # fmt: skip
                shutil.rmtree(rootfs / folder, ignore_errors=True)
            partial = tarball.with_suffix(".partial")
            run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."])
            partial.rename(tarball)

    def build(self, context: Path, tag: str, *options: str, **build_args: str) -> float:
        """Build ``context``'s Dockerfile on the stand-in base; returns the seconds it took.

        ``options`` go to ``podman build`` (``--target``, ``--no-cache``); ``build_args`` are
        the Dockerfile's ARGs."""
        arguments = {"BASE_IMAGE": self.ensure_base_image(), **build_args}
        started = time.monotonic()
        self(
            "build", "--isolation", "chroot", "--format", "docker", *self.ulimits, *options,
            *(f"--build-arg={name}={value}" for name, value in arguments.items()),
            "--tag", tag, str(context),
            timeout=1800,
        )  # fmt: skip
        return time.monotonic() - started

    def image_size(self, tag: str) -> int:
        """The image's size in bytes, as ``podman images`` reports it."""
        return json.loads(self("image", "inspect", tag))[0]["Size"]

    def start(self, image: str, name: str, *options: str, command: tuple[str, ...] = ()) -> str:
        """Start a container in the background; ``options`` go before the image."""
        self("run", "--detach", "--name", name, *self.ulimits, *options, image, *command)
        return name

    @contextmanager
    def serving(
        self,
        image: str,
        *options: str,
        container_port: int = 8080,
        command: tuple[str, ...] = (),
        ready_path: str = "/readyz",
    ) -> Iterator[tuple[str, int, float]]:
        """A container of ``image`` (given ``command``, if any) published on a free loopback
        port, once ``ready_path`` answers 200: (its name, the port, seconds from start to
        ready). Removed on exit."""
        port = free_port()
        name = f"{image.rsplit('/', 1)[-1].replace(':', '-')}-{port}"
        started = time.monotonic()
        try:
            publish = ("--publish", f"127.0.0.1:{port}:{container_port}")
            self.start(image, name, *options, *publish, command=command)
            wait_for(port, ready_path, 200, timeout=300)
            yield name, port, time.monotonic() - started
        finally:
            self.remove(name)

    def state(self, name: str) -> dict:
        return json.loads(self("container", "inspect", name))[0]["State"]

    def remove(self, name: str) -> None:
        """Remove a container of ours, stopping it first if it still runs."""
        self.attempt("rm", "--force", "--time", "5", name)
