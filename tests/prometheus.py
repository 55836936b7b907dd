"""A real Prometheus (the Debian package) scraping a served bake on 127.0.0.1, for the tests.

It is started with the bake's own scrape configuration and alert rules, changed only where a
test must: the target (the test's port instead of the compose service name) and one-second
scrape and rule intervals. It is stopped by the pid this module started.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from served import free_port


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120)


@dataclass
class Prometheus:
    process: subprocess.Popen
    port: int

    @classmethod
    def start(cls, config: Path, target_port: int, workdir: Path) -> Prometheus:
        """Prometheus with ``config`` (and its rule files) pointed at 127.0.0.1:target_port."""
        settings = yaml.safe_load(config.read_text())
        settings["global"].update(scrape_interval="1s", evaluation_interval="1s")
        settings["rule_files"] = [str(config.parent / name) for name in settings["rule_files"]]
        for job in settings["scrape_configs"]:
            job["static_configs"] = [{"targets": [f"127.0.0.1:{target_port}"]}]
        test_config = workdir / "prometheus.yml"
        test_config.write_text(yaml.safe_dump(settings))
        port = free_port()
        command = [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={test_config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        with open(workdir / "prometheus.log", "w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        prometheus = cls(process, port)
        prometheus.wait_until(lambda: prometheus._get("/-/ready") is not None, 30)
        return prometheus

    def _get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                body = r.read()
        except OSError:
            return None
        return json.loads(body) if body.startswith(b"{") else body

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The instant vector ``expression`` gives now (a PromQL error fails the test)."""
        answer = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": expression}))
        assert answer is not None, f"prometheus did not answer {expression!r}"
        assert answer["status"] == "success", (expression, answer)
        return answer["data"]["result"]

    def wait_until(self, condition: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, "prometheus exited"
            assert time.monotonic() < deadline, "timed out waiting for prometheus"
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=30)
