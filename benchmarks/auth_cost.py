"""What auth=api_key costs per request: the same bake's app with its key check and without.

    .venv/bin/python benchmarks/auth_cost.py [--rounds 7] [--requests 2000]

Bakes the defaults with auth=api_key, trains the example model, and times /v1/predict (1
record, with a valid key) in one process (benchmarks/auth_inprocess.py), the check in and out of
the app in interleaved rounds. Compare the difference, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bakery import bake_into, clean_env, package_name, project_venv, run

HERE = Path(__file__).resolve().parent
KEY = "benchmark-key-0123456789abcdef"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="auth-cost-"))
    try:
        project = bake_into(work, auth="api_key")
        package = package_name(project)
        python = str(project_venv(project) / "bin" / "python")
        env = clean_env(PYTHONPATH=str(project / "src"), MODEL_STORE=str(work / "models"))
        run([python, "-m", package, "train-example"], env=env)
        env.update(
            BENCH_PACKAGE=package,
            BENCH_ROUNDS=str(args.rounds),
            BENCH_REQUESTS=str(args.requests),
            API_KEYS=KEY,
            PREDICTION_LOG="false",
            MODEL_POLL_SECONDS="0",
            LOG_LEVEL="WARNING",
        )
        output = run([python, str(HERE / "auth_inprocess.py")], env=env, timeout=1800)
    finally:
        shutil.rmtree(work)
    print(json.dumps(json.loads(output.splitlines()[-1])))


if __name__ == "__main__":
    main()
