"""What the worst body of each shape costs the service: CPU time, status and answer size.

    .venv/bin/python benchmarks/worst_case_bodies.py [--template DIR] [--rounds 5]
        [--body-bytes N] [--shapes NAME,...]

Bakes the defaults of this template (or of another checkout of it, given as --template, to
compare before and after a change), trains the example model, and posts each worst-case body
(as large as MAX_CONTENT_LENGTH allows) to the app in one process
(benchmarks/worst_bodies_inprocess.py): one JSON object per shape, and a table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bakery import TEMPLATE, bake_into, clean_env, package_name, project_venv, run

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="template to bake")
    parser.add_argument("--rounds", type=int, default=5, help="requests per shape")
    parser.add_argument("--body-bytes", type=int, help="body size (default: just under 1 MiB)")
    parser.add_argument("--shapes", default="", help="only shapes whose names contain these")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="worst-bodies-"))
    try:
        project = bake_into(work, template=args.template)
        package = package_name(project)
        python = str(project_venv(project) / "bin" / "python")
        store = work / "models"
        env = clean_env(PYTHONPATH=str(project / "src"), MODEL_STORE=str(store))
        run([python, "-m", package, "train-example"], env=env)
        env.update(
            PYTHONPATH=str(project / "src"),
            BENCH_PACKAGE=package,
            BENCH_ROUNDS=str(args.rounds),
            BENCH_SHAPES=args.shapes,
            PREDICTION_LOG="false",
            MODEL_POLL_SECONDS="0",
            LOG_LEVEL="WARNING",
        )
        if args.body_bytes:
            env["BENCH_BODY_BYTES"] = str(args.body_bytes)
        output = run([python, str(HERE / "worst_bodies_inprocess.py")], env=env, timeout=1800)
        results = json.loads(output.splitlines()[-1])
    finally:
        shutil.rmtree(work)
    print(json.dumps(results))
    print(f"\n{'shape':38} {'body':>9} {'status':>6} {'answer':>9} {'CPU ms':>8}")
    for name, row in results.items():
        print(
            f"{name:38} {row['body_bytes']:>9} {row['status']:>6} {row['answer_bytes']:>9} "
            f"{row['cpu_ms']:>8}"
        )


if __name__ == "__main__":
    main()
