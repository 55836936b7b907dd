#!/usr/bin/env bash
# Bake the template's defaults, install the bake, train and register the example model, serve
# it under gunicorn on a free 127.0.0.1 port and show a real prediction.
#   bash scripts/demo.sh                  stops the service after the prediction
#   bash scripts/demo.sh --keep-serving   keeps it in the foreground until Ctrl-C
set -euo pipefail
cd "$(dirname "$0")/.."
KEEP_SERVING=0
[ "${1:-}" = "--keep-serving" ] && KEEP_SERVING=1
source scripts/system-packages.sh
source scripts/tool-venv.sh
ensure_system_packages python3-venv
ensure_tool_venv

OUT=build/demo
PROJECT="$OUT/iris-classifier"
rm -rf "$OUT" && mkdir -p "$OUT"
# A config of our own, so cookiecutter writes its replay file here, not in the home directory.
printf 'replay_dir: "%s/replay"\ncookiecutters_dir: "%s/cookiecutters"\n' "$PWD/$OUT" "$PWD/$OUT" \
  > "$OUT/cookiecutter.yaml"

echo "== baking the defaults into $PROJECT"
.venv/bin/cookiecutter --no-input --config-file "$OUT/cookiecutter.yaml" --output-dir "$OUT" .

cd "$PROJECT"
echo "== installing it in $PROJECT/.venv with its pinned dependencies"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps .

export MODEL_STORE="$PWD/models"
echo "== training and registering the example model"
.venv/bin/iris-classifier train-example

PORT=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORT HOST=127.0.0.1
echo "== serving under gunicorn on http://127.0.0.1:$PORT (logs in $PROJECT/serve.log)"
.venv/bin/iris-classifier serve > serve.log 2>&1 &
SERVER=$!
stop() { kill -TERM "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true; }
trap stop EXIT

BODY='{"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}, {"sepal_length": 6.9, "sepal_width": 3.1, "petal_length": 5.7, "petal_width": 2.2}]}'
.venv/bin/python - "$PORT" "$BODY" <<'PY'
import json, sys, time, urllib.error, urllib.request

port, body = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"
deadline = time.monotonic() + 60
while True:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=2) as answer:
            print("GET /readyz ->", answer.status, answer.read().decode())
            break
    except (OSError, urllib.error.HTTPError) as error:
        if time.monotonic() > deadline:
            sys.exit(f"the service was not ready within 60 s: {error}")
        time.sleep(0.2)
print(f"\ncurl -s {base}/v1/predict -H 'Content-Type: application/json' -d '{body}'")
request = urllib.request.Request(
    f"{base}/v1/predict", data=body.encode(), headers={"Content-Type": "application/json"}
)
with urllib.request.urlopen(request, timeout=10) as answer:
    print(answer.status, "X-Model-Version:", answer.headers["X-Model-Version"])
    print(json.dumps(json.load(answer), indent=2))
PY

if [ "$KEEP_SERVING" = 1 ]; then
  echo "== serving until Ctrl-C; try the curl line above, or http://127.0.0.1:$PORT/docs"
  wait "$SERVER"
else
  echo "== done; serve it again with: cd $PROJECT && MODEL_STORE=models .venv/bin/iris-classifier serve"
fi
