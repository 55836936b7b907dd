"""Draw docs/images/request-path.svg: the path of a request through a baked service.

    .venv/bin/python scripts/draw_request_path.py [--output docs/images/request-path.svg]

The boxes name the bake's own modules, settings and defaults (server/worker.py,
service/app.py, service/inference.py, ...): when those change, change the text here and run it
again. Plain Python, one self-contained SVG (system fonts only), readable at 900 px wide.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 900
SANS = "'Helvetica Neue', Helvetica, Arial, sans-serif"
MONO = "'DejaVu Sans Mono', Menlo, Consolas, monospace"
INK = "#1f2328"
MUTED = "#57606a"
#: Mean widths of a 12 px character, sans and mono, for wrapping lines.
SANS_PX = 6.7
MONO_PX = 7.2
LINE = 15.5


@dataclass(frozen=True)
class Tone:
    fill: str
    stroke: str


GREY = Tone("#f6f8fa", "#8c959f")
ORANGE = Tone("#fff4e5", "#d9822b")
BLUE = Tone("#eaf2fd", "#3b6fc4")
GREEN = Tone("#eaf7ee", "#2f8f4e")
PURPLE = Tone("#f4eefc", "#7d52c1")
TEAL = Tone("#e8f6f6", "#1f8a8a")
RED = Tone("#fdeeee", "#c93c3c")


def width_of(line: str) -> float:
    """Estimated width of a line whose `code` parts are monospace."""
    parts = line.split("`")
    return sum(len(p) * (MONO_PX if i % 2 else SANS_PX) for i, p in enumerate(parts))


def wrap(paragraph: str, width: float) -> list[str]:
    """Words into lines of at most ``width`` px; a `code` span is never split."""
    words = re.findall(r"`[^`]*`\S*|\S+", paragraph)
    lines: list[str] = []
    for word in words:
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and width_of(candidate) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def spans(line: str) -> str:
    """A line as SVG text: `code` parts in monospace."""
    out = []
    for index, part in enumerate(line.split("`")):
        if not part:
            continue
        if index % 2:
            out.append(f'<tspan font-family="{MONO}" font-size="11.5">{escape(part)}</tspan>')
        else:
            out.append(escape(part))
    return "".join(out)


class Drawing:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.height = 0.0
        #: The middle of each bullet's first line in the last box drawn, for arrows.
        self.bullets: list[float] = []

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(self, x: float, y: float, line: str, size: float = 12, **attributes: str) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attributes.items())
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{extra}>{spans(line)}</text>')

    def box(
        self,
        x: float,
        y: float,
        w: float,
        title: str,
        where: str,
        bullets: list[str],
        tone: Tone,
        *,
        min_height: float = 0,
    ) -> float:
        """A titled box of bullet points; returns its height."""
        lines: list[tuple[bool, str]] = []
        for bullet in bullets:
            for index, line in enumerate(wrap(bullet, w - 34)):
                lines.append((index == 0, line))
        # The module names go beside the title if they fit, else on a line of their own.
        beside = width_of(title) * 1.3 + width_of(where) * 0.95 + 36 <= w
        top = 42 if beside or not where else 56
        height = max(min_height, top + LINE * len(lines) + 8)
        self.add(
            f'<rect x="{x}" y="{y}" width="{w}" height="{height:.1f}" rx="8" '
            f'fill="{tone.fill}" stroke="{tone.stroke}" stroke-width="1.5"/>'
        )
        self.text(x + 12, y + 21, title, 14.5, font_weight="700", fill=INK)
        if where and beside:
            self.text(x + w - 12, y + 21, where, 11, fill=tone.stroke, text_anchor="end")
        elif where:
            self.text(x + 12, y + 37, where, 11, fill=tone.stroke)
        self.bullets = []
        for row, (first, line) in enumerate(lines):
            baseline = y + top + row * LINE
            if first:
                self.bullets.append(baseline - 4)
                self.add(
                    f'<circle cx="{x + 16}" cy="{baseline - 4:.1f}" r="2.2" fill="{tone.stroke}"/>'
                )
            self.text(x + 24, baseline, line, 12, fill=INK)
        self.height = max(self.height, y + height)
        return height

    def arrow(
        self,
        points: list[tuple[float, float]],
        label: str = "",
        *,
        colour: str = INK,
        dashed: bool = False,
        label_at: tuple[float, float] | None = None,
        anchor: str = "start",
    ) -> None:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        marker = "red" if colour != INK else "ink"
        self.add(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.6"{dash} '
            f'marker-end="url(#arrow-{marker})"/>'
        )
        if label:
            x, y = label_at or (points[0][0] + 8, (points[0][1] + points[-1][1]) / 2 + 4)
            self.text(
                x, y, label, 11.5, fill=MUTED if colour == INK else colour, text_anchor=anchor
            )

    def svg(self) -> str:
        height = round(self.height + 16)
        head = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="{SANS}">',
            "<title>The path of a request through the baked service</title>",
            "<defs>",
            *(
                f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" '
                f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
                f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
                for name, colour in (("ink", INK), ("red", RED.stroke))
            ),
            "</defs>",
            f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        ]
        return "\n".join([*head, *self.parts, "</svg>"]) + "\n"


def draw() -> str:
    d = Drawing()
    left, main_w = 24, 570
    side_x, side_w = 612, 280
    d.text(left, 26, "The path of a request", 19, font_weight="700", fill=INK)
    d.text(
        left,
        46,
        "Through a baked service, as its code runs it (default settings shown). "
        "Names are the bake's modules under src/<package>/.",
        12,
        fill=MUTED,
    )

    y = 62
    h = d.box(
        left,
        y,
        main_w,
        "Client",
        "",
        [
            '`POST /v1/predict` with `{"instances": [...]}`, or a standard protocol\'s '
            "client (KServe, Triton/OIP, SageMaker/MLflow, Vertex AI)"
        ],
        GREY,
    )
    y += h
    d.arrow([(left + 150, y), (left + 150, y + 30)], "HTTP/1.1, kept alive")
    y += 30

    gunicorn_top = y
    h = d.box(
        left,
        y,
        main_w,
        "gunicorn: a master and WEB_CONCURRENCY (2) workers",
        "gunicorn_conf.py, server/worker.py",
        [
            "`BufferingWorker` (gthread, THREADS=1): its event loop reads the whole request "
            "before the app sees it; a slow client holds a socket, never a thread",
            "Request line over 4094 bytes: 414. Over 100 header fields, or one over 8190 "
            "bytes: 431. Not HTTP: 400 (gunicorn's limits)",
            "Body over MAX_CONTENT_LENGTH (1 MiB): 413, before it is read. "
            "Not all in within REQUEST_READ_TIMEOUT (30 s): 408",
            "TIMEOUT 30 s: a worker silent that long is replaced. KEEPALIVE 5 s. "
            "MAX_REQUESTS 10000 (+ jitter) recycles workers",
            "Connections spread over the workers (balance.py); background threads take "
            "their turn between requests (turns.py)",
        ],
        ORANGE,
    )
    y += h
    gunicorn_bottom = y
    d.arrow([(left + 150, y), (left + 150, y + 30)], "a complete request (WSGI)")
    y += 30

    app_top = y
    h = d.box(
        left,
        y,
        main_w,
        "Flask app: create_app()",
        "service/app.py",
        [
            "Request id (logs.py): the client's `X-Request-ID` if plain (1 to 128 of "
            "`A-Za-z0-9._:@/+=-`), else a new uuid4; the clock starts",
            "API key, when baked with auth=api_key (auth.py): `Authorization: Bearer` or "
            "`X-API-Key`, compared in constant time; 401. Probes stay open",
            "In-flight gauge up (monitoring/http_metrics.py)",
            "Routing: the URL's rule picks a blueprint, and its blueprint the error dialect "
            "(dialects.py)",
        ],
        BLUE,
    )
    y += h + 30
    app_bottom = y - 30

    # The two kinds of route, side by side.
    half = (main_w - 14) / 2
    route_y = y
    h1 = d.box(
        left,
        y,
        half,
        "Native API",
        "service/api/",
        [
            "`POST /v1/predict` (predictions.py)",
            "`json_body()`: 415 unless JSON; 400 unless it parses (no repeated keys, no NaN, "
            "depth bounded)",
            "Also: `/v1/feedback`, `/v1/model`, `/v1/monitoring`, `/livez`, `/readyz`, "
            "`/docs`; and `/metrics` (monitoring/http_metrics.py)",
        ],
        BLUE,
    )
    h2 = d.box(
        left + half + 14,
        y,
        half,
        "Protocol adapters",
        "service/adapters/",
        [
            "OIP `/v2/models/{name}/infer` (oip.py, tensors.py)",
            "KServe V1 `/v1/models/{name}:predict`",
            "SageMaker/MLflow `/invocations`, JSON or CSV",
            "Vertex AI: AIP_PREDICT_ROUTE",
            "Each turns its body into records (tables.py)",
        ],
        BLUE,
        min_height=0,
    )
    routes_h = max(h1, h2)
    for x in (left + half / 2, left + half + 14 + half / 2):
        d.arrow([(x, app_bottom), (x, route_y)])
    y = route_y + routes_h
    for x in (left + half / 2, left + half + 14 + half / 2):
        d.arrow([(x, y), (x, y + 30)])
    d.text(left + half / 2 + 8, y + 19, "`scoring.predict_records(body)`", 11.5, fill=MUTED)
    y += 30

    inference_top = y
    h = d.box(
        left,
        y,
        main_w,
        "Inference.predict: the one path for every route",
        "service/inference.py, scoring.py",
        [
            "`model_holder.get()`: the version served now, kept for the whole request; "
            "none ready: 503 `model_not_ready`",
            "Validate: the fast path (fast_path.py) checks plain records without marshmallow; "
            "at the first value it is unsure of, marshmallow's schema decides (unknown keys "
            "refused, at most MAX_BATCH_SIZE 1000 records): 422 by path. Category values must "
            "be the training data's",
            "Score: `predict(model, records)` under PREDICT_TIMEOUT (10 s, a SIGALRM timer: "
            "deadlines.py): 504. One finite answer per record, else 422 `unscorable_input`",
            "Ids: one prefix per request (the time in ms, then 80 random bits), "
            "`<prefix>-<index>` per record",
            "`monitor.observe()`: counts the batch, queues it for the prediction log",
        ],
        GREEN,
    )
    holder_y, observe_y = d.bullets[0], d.bullets[-1]
    y += h

    d.arrow([(left + 150, y), (left + 150, y + 30)], "answers, with their ids")
    y += 30
    response_top = y
    h = d.box(
        left,
        y,
        main_w,
        "The answer",
        "after_request hooks, newest first",
        [
            "`X-Model-Version`: the version that answered (statuses under 400 only; serving.py)",
            "Counted: `http_requests_total` by endpoint, method, status, model_version, "
            "protocol; `http_request_duration_seconds`",
            "`X-Request-ID` echoed, and one JSON access line (logs.py)",
            '`{"predictions": [{"id", "label", "probabilities"}], "model", "request_id"}` '
            "(orjson), or the protocol's own answer; the worker sends it whole without "
            "blocking",
        ],
        GREEN,
    )
    counted_y, access_y = d.bullets[1], d.bullets[2]
    y += h
    d.arrow([(left + 150, y), (left + 150, y + 28)], "to the client")
    y += 34

    errors_top = y
    h = d.box(
        left,
        y,
        main_w,
        "Errors: one handler, one shape",
        "service/errors.py, dialects.py",
        [
            '`{"error": {"code", "message", "fields"}, "request_id"}`: `fields` maps '
            "`instances.3.sepal_length` to its problems; an unexpected exception is a 500 "
            "whose traceback goes to the log only",
            "A protocol's route answers in its dialect: OIP, KServe and Vertex AI "
            '`{"error": "<text>"}`, MLflow `{"error_code", "message"}`; invalid input is '
            "their 400 instead of 422",
            "The worker's own refusals (400, 408, 413, 414, 431) have the same shapes and "
            "are counted in `http_requests_refused_total`",
        ],
        RED,
    )
    d.height = max(d.height, y + h)
    # Every stage that can refuse sends its error here (a red line down the left margin).
    rail = left - 10
    for top in (gunicorn_top + 60, app_top + 60, route_y + 60, inference_top + 60):
        d.add(
            f'<polyline points="{left},{top} {rail},{top}" fill="none" stroke="{RED.stroke}" '
            'stroke-width="1.4" stroke-dasharray="5 4"/>'
        )
    d.arrow(
        [(rail, gunicorn_top + 60), (rail, errors_top + 24), (left, errors_top + 24)],
        colour=RED.stroke,
        dashed=True,
    )
    middle = (gunicorn_bottom + app_top) / 2
    d.add(
        f'<text x="{rail - 3}" y="{middle}" font-size="11" fill="{RED.stroke}" '
        f'text-anchor="middle" transform="rotate(-90 {rail - 3} {middle})">refused</text>'
    )

    # Beside the main path, top to bottom: the model it reads, then what it leaves behind.
    store_y = route_y
    store_h = d.box(
        side_x,
        store_y,
        side_w,
        "Model holder and store",
        "serving.py, store/registry.py",
        [
            "Each worker holds one verified version, and looks at registry.json every "
            "MODEL_POLL_SECONDS (1 s): alias `production` -> a version",
            "Loading copies each file, hashing it; deserialized only if every sha256 "
            "matches metadata.json, then a warm-up prediction",
            "Swapped in with one assignment; a version failing a check is refused, and the "
            "served one stays",
        ],
        PURPLE,
    )
    lane = (left + main_w + side_x) / 2  # between the columns
    d.arrow(
        [(left + main_w, holder_y), (lane, holder_y), (lane, store_y + store_h - 24),
         (side_x, store_y + store_h - 24)]
    )  # fmt: skip
    plog_y = store_y + store_h + 16
    plog_h = d.box(
        side_x,
        plog_y,
        side_w,
        "Prediction log",
        "monitoring/prediction_log.py",
        [
            "A bounded queue, off the request path (PREDICTION_LOG_QUEUE_SIZE 10000; when "
            "full, rows are dropped and counted)",
            "A writer thread per worker: one transaction per 0.2 s, one row per request",
            "SQLite (WAL, in the model store) or PostgreSQL (DATABASE_URL). Feedback joins "
            "it by id (accuracy); the monitor reads it (drift)",
        ],
        TEAL,
    )
    d.arrow([(left + main_w, observe_y), (side_x, observe_y)])
    metrics_y = max(plog_y + plog_h + 16, response_top)
    metrics_h = d.box(
        side_x,
        metrics_y,
        side_w,
        "Prometheus metrics",
        "",
        [
            "Each worker writes its samples to PROMETHEUS_MULTIPROC_DIR; `GET /metrics` "
            "sums every worker's",
            "Requests, latency, batch sizes, predictions by class, inputs by bin (drift)",
        ],
        TEAL,
    )
    log_y = metrics_y + metrics_h + 16
    log_h = d.box(
        side_x,
        log_y,
        side_w,
        "JSON log line on stdout",
        "",
        [
            "One per request: method, path, status, latency_ms, request_id, model_version, "
            "pid, time",
        ],
        TEAL,
    )
    d.arrow([(left + main_w, counted_y), (side_x, metrics_y + 30)])
    d.arrow([(left + main_w, access_y), (side_x, log_y + 30)])
    d.height = max(d.height, log_y + log_h)
    return d.svg()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output", type=Path, default=ROOT / "docs" / "images" / "request-path.svg"
    )
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(draw())
    print(f"wrote {args.output.name}: {args.output.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
