"""Render the bake's Grafana dashboard as an SVG from real Prometheus data (docs/images/).

    .venv/bin/python scripts/render_dashboard.py [--seconds 180] [--output docs/images/dashboard.svg]

This is not a Grafana screenshot: Grafana does not run here. The picture is drawn by this
script, in plain Python, from the answers of a real Prometheus:

1. Bakes the defaults, installs the bake as a wheel beside its pinned dependencies (the venv
   cached in .cache/venvs/, as the tests do), trains and registers the example model three
   times (versions 1 to 3, production -> 3) and serves it under gunicorn (2 workers) on
   127.0.0.1, with the monitor running every 2 s (drift scored from 50 records on).
2. Starts Prometheus (the Debian package) with the bake's own scrape configuration and alert
   rules, scraping that port every second (tests/prometheus.py).
3. Drives ``--seconds`` of traffic from a few client threads, in phases (fractions of the run):
   from the start, 1 to 50 iris records per POST /v1/predict at a rate that rises and falls,
   some through KServe V1's ``:predict``, about 6% invalid requests (wrong types, unknown
   fields, not JSON, unknown paths), readiness probes, and feedback with the true label for
   most predictions; at 0.3 ``models promote 1``; at 0.55 ``models rollback`` (back to 3);
   from 0.65 half the records carry a shifted ``sepal_length`` (+3), so its drift score rises.
4. For each panel of the bake's ``dashboard.json``, asks Prometheus' ``query_range`` for each
   target over the run, and draws the panels in the dashboard's grid (gridPos: 24 columns,
   30 px a row), with titles, axes in the panel's unit and legends.

Grafana's variables are substituted as Grafana would for a panel ``plot_px`` pixels wide, with
the scrape interval (1 s) as the data source's minimum interval:
``$__interval`` = the step = the range / plot_px, at least the scrape interval, rounded up to
1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10 min...; ``$__interval_ms`` the same in ms;
``$__rate_interval`` = max($__interval + scrape interval, 4 x scrape interval);
``$__range``, ``$__range_s``, ``$__range_ms`` = the rendered range; a template variable = its
``current`` value (several values as ``(a|b)``, All as its ``allValue`` or ``.*``). Legends:
a ``legendFormat`` with ``{{label}}`` is filled in; ``__auto`` (or none) gives the labels that
differ between the target's series, ``{k="v"}``, after the metric name when the series keep
one (a lone series keeps all its labels but job and instance). A bar gauge shows each series'
last value, as small multiples grouped by the label with the fewest values (each feature's
bins). NaN points (a quantile of no requests) are gaps, as in Grafana. The time range is the
run, not the dashboard's 6 h; the picture's footer names the queries' windows (``[5m]``,
``[1h]``) longer than the run, over which rates still climb.

Everything it started (gunicorn, Prometheus, client threads) is stopped by its pid or its own
flag, and its temporary directory removed. With ``--data`` it also writes what each panel got
(tests/test_render_dashboard.py checks that no panel is empty).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bakery import bake_into, project_venv
from http_client import wait_for
from prometheus import Prometheus
from served import Installed, Server

ROOT = Path(__file__).resolve().parent.parent
IRIS = ROOT / (
    "{{cookiecutter.project_slug}}/_variants/example_inputs/iris/src/"
    "{{cookiecutter.package_name}}/model/data/iris.csv"
)
SCRAPE_SECONDS = 1.0
SHIFTED = "sepal_length"
#: Seconds of quiet before and after the traffic, so the graphs show it start and stop.
QUIET_SECONDS = 4.0
NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400]

# Grafana's dark theme and its classic palette.
BACKGROUND = "#111217"
PANEL = "#181b1f"
BORDER = "#2c3235"
GRID = "#24272c"
TEXT = "#ccccdc"
MUTED = "#8e8e9e"
PALETTE = [
    "#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9", "#705DA0",
    "#37872D", "#FADE2A", "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62", "#584477",
]  # fmt: skip
FONT = "Inter, 'Helvetica Neue', Helvetica, Arial, sans-serif"

WIDTH = 1280
MARGIN = 12
HEADER = 64
ROW_PX = 30  # Grafana's grid row
GAP = 8
CHAR_PX = 6.1  # mean width of an 11 px sans-serif character, for fitting titles
LEGEND_CHAR_PX = 5.6  # and of a 10.5 px one, for legends
LEGEND_ROWS = 5  # Grafana scrolls a longer legend; here the rest is counted in "+N more"


# --- Traffic -------------------------------------------------------------------------------


def iris_records() -> list[tuple[dict[str, float], str]]:
    lines = IRIS.read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:] if line]
    return [({name: float(row[name]) for name in header[:4]}, row[header[4]]) for row in rows]


@dataclass
class Traffic:
    """Client threads posting predictions, invalid requests, probes and feedback until stopped.

    ``phase(elapsed fraction)`` says whether inputs are shifted now; the rate follows a slow
    wave around ``rate`` requests per second, all clients together.
    """

    port: int
    model_name: str
    seconds: float
    rate: float = 24.0
    clients: int = 3
    seed: int = 7
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    _pending: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _started: float = 0.0

    def start(self) -> Traffic:
        self._started = time.monotonic()
        self.records = iris_records()
        loops: list[Callable[..., None]] = [self._client] * self.clients
        loops += [self._feedback, self._probe]
        self._threads = [
            threading.Thread(target=loop, args=(index,), daemon=True)
            for index, loop in enumerate(loops)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def fraction(self) -> float:
        return (time.monotonic() - self._started) / self.seconds

    def _count(self, status: int) -> None:
        with self._lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def _send(
        self, connection: http.client.HTTPConnection, method: str, path: str, body: Any = None
    ) -> tuple[int, bytes]:
        headers = {}
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        self._count(response.status)
        return response.status, data

    def _batch(self, rng: random.Random) -> tuple[list[dict[str, float]], list[str]]:
        size = rng.choices([1, rng.randint(2, 10), rng.randint(20, 50)], [6, 3, 1])[0]
        chosen = [rng.choice(self.records) for _ in range(size)]
        shifted = self.fraction() >= 0.65
        instances = [
            {**x, SHIFTED: x[SHIFTED] + 3.0} if shifted and rng.random() < 0.5 else x
            for x, _ in chosen
        ]
        return instances, [label for _, label in chosen]

    def _one(self, connection: http.client.HTTPConnection, rng: random.Random) -> None:
        roll = rng.random()
        if roll < 0.02:
            self._send(connection, "GET", rng.choice(["/v1/predictions", "/predict", "/admin"]))
        elif roll < 0.04:
            record = {**rng.choice(self.records)[0], "sepal_length": "wide"}
            self._send(connection, "POST", "/v1/predict", {"instances": [record]})
        elif roll < 0.05:
            record = {**rng.choice(self.records)[0], "colour": "blue"}
            self._send(connection, "POST", "/v1/predict", {"instances": [record]})
        elif roll < 0.06:
            self._send(connection, "POST", "/v1/predict", b"sepal_length=5.1")
        elif roll < 0.07:
            self._send(connection, "GET", "/v1/model")
        else:
            instances, labels = self._batch(rng)
            kserve = f"/v1/models/{self.model_name}:predict"
            path = kserve if roll < 0.22 else "/v1/predict"
            status, data = self._send(connection, "POST", path, {"instances": instances})
            if status == 200:
                ids = [p["id"] for p in json.loads(data)["predictions"]]
                with self._lock:
                    self._pending.extend(zip(ids, labels, strict=True))

    def _client(self, index: int) -> None:
        rng = random.Random(self.seed * 100 + index)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self._stop.is_set():
            wave = 1.0 + 0.6 * math.sin(2 * math.pi * self.fraction() * 1.5)
            pause = rng.expovariate(self.rate * wave / self.clients)
            try:
                self._one(connection, rng)
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(repr(error))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self._stop.wait(min(pause, 1.0))
        connection.close()

    def _feedback(self, index: int) -> None:
        """Every 1.5 s, the true label of about 70% of the predictions made since."""
        rng = random.Random(self.seed * 100 + index)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self._stop.wait(1.5):
            with self._lock:
                pending, self._pending = self._pending, []
            items = [{"id": i, "actual": label} for i, label in pending if rng.random() < 0.7]
            if not items:
                continue
            try:
                for start in range(0, len(items), 500):
                    body = {"feedback": items[start : start + 500]}
                    self._send(connection, "POST", "/v1/feedback", body)
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(repr(error))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.close()

    def _probe(self, _index: int) -> None:
        """An orchestrator's probes: /livez and /readyz every 2 s."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self._stop.wait(2.0):
            try:
                self._send(connection, "GET", "/livez")
                self._send(connection, "GET", "/readyz")
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(repr(error))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.close()


def drive(installed: Installed, store: Path, server: Server, seconds: float) -> Traffic:
    """The traffic phases, with the alias moved by the real CLI on the way."""
    traffic = Traffic(server.port, installed.model_name, seconds).start()
    moves = [(0.3, ("models", "promote", "1")), (0.55, ("models", "rollback"))]
    try:
        for at, command in moves:
            time.sleep(max(0.0, at * seconds - (time.monotonic() - traffic._started)))
            installed.cli(store, *command)
            print(f"  {at:.0%} of the run: {' '.join(command)}", flush=True)
        time.sleep(max(0.0, seconds - (time.monotonic() - traffic._started)))
    finally:
        traffic.stop()
    return traffic


# --- Queries -------------------------------------------------------------------------------


def nice_seconds(seconds: float) -> int:
    return next((step for step in NICE_STEPS if step >= seconds), NICE_STEPS[-1])


def duration(seconds: float) -> str:
    """Seconds as PromQL writes a duration (whole seconds)."""
    return f"{max(1, round(seconds))}s"


def variables(dashboard: dict[str, Any], start: float, end: float, step: int) -> dict[str, str]:
    """Grafana's built-in variables and the dashboard's template variables (module docstring)."""
    values = {
        "__interval": duration(step),
        "__interval_ms": str(step * 1000),
        "__rate_interval": duration(max(step + SCRAPE_SECONDS, 4 * SCRAPE_SECONDS)),
        "__range": duration(end - start),
        "__range_s": str(round(end - start)),
        "__range_ms": str(round((end - start) * 1000)),
    }
    for variable in dashboard.get("templating", {}).get("list", []):
        current = variable.get("current", {}).get("value", variable.get("query", ""))
        if current in ("$__all", ["$__all"]):
            current = variable.get("allValue") or ".*"
        if isinstance(current, list):
            current = current[0] if len(current) == 1 else f"({'|'.join(current)})"
        values[variable["name"]] = str(current)
    return values


def substitute(expression: str, values: dict[str, str]) -> str:
    """``$name``, ``${name}``, ``${name:format}`` and ``[[name]]``, longest names first."""

    def replace(match: re.Match[str]) -> str:
        name = match["braced"] or match["plain"] or match["old"]
        return values.get(name, match[0])

    pattern = r"\$\{(?P<braced>\w+)(?::\w+)?\}|\[\[(?P<old>\w+)\]\]|\$(?P<plain>\w+)"
    return re.sub(pattern, replace, expression)


def query_range(port: int, expression: str, start: float, end: float, step: int) -> list[dict]:
    parameters = {"query": expression, "start": start, "end": end, "step": step}
    url = f"http://127.0.0.1:{port}/api/v1/query_range?{urllib.parse.urlencode(parameters)}"
    with urllib.request.urlopen(url, timeout=30) as answer:
        body = json.loads(answer.read())
    if body["status"] != "success":
        raise RuntimeError(f"{expression!r}: {body}")
    return body["data"]["result"]


def legend(target: dict[str, Any], series: list[dict[str, Any]]) -> list[str]:
    """Each series' legend name (module docstring)."""
    form = target.get("legendFormat") or "__auto"
    if form != "__auto":
        return [
            re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m, s=s: s["metric"].get(m[1], ""), form)
            for s in series
        ]
    labels = [dict(s["metric"]) for s in series]
    names = [label.pop("__name__", "") for label in labels]
    if len(series) == 1:
        shown = [{k: v for k, v in labels[0].items() if k not in ("job", "instance")}]
    else:
        keys = sorted({k for label in labels for k in label})
        varying = [k for k in keys if len({label.get(k) for label in labels}) > 1]
        shown = [{k: label[k] for k in varying if k in label} for label in labels]
    result = []
    for name, label in zip(names, shown, strict=True):
        inside = ", ".join(f'{k}="{v}"' for k, v in sorted(label.items()))
        text = f"{name}{{{inside}}}" if inside else name
        result.append(text or target["expr"])
    return result


def panel_width_px(panel: dict[str, Any]) -> float:
    return panel["gridPos"]["w"] * (WIDTH - 2 * MARGIN) / 24 - GAP


def collect(port: int, dashboard: dict[str, Any], start: float, end: float) -> list[dict]:
    """Every panel's series over [start, end]: Prometheus' answers to its targets."""
    panels = []
    for panel in dashboard["panels"]:
        if panel.get("type") == "row":
            panels.append({"panel": panel, "series": []})
            continue
        plot_px = panel_width_px(panel) - 70
        step = nice_seconds(max(SCRAPE_SECONDS, (end - start) / plot_px))
        values = variables(dashboard, start, end, step)
        aligned = math.floor(start / step) * step
        series = []
        for target in panel.get("targets", []):
            expression = substitute(target["expr"], values)
            result = query_range(port, expression, aligned, end, step)
            result.sort(key=lambda s: sorted(s["metric"].items()))
            for name, item in zip(legend(target, result), result, strict=True):
                points = [(float(t), float(v)) for t, v in item["values"]]
                series.append(
                    {
                        "target": target.get("refId", ""),
                        "query": expression,
                        "metric": item["metric"],
                        "name": name,
                        "points": [(t, v) for t, v in points if math.isfinite(v)],
                        "step": step,
                    }
                )
        panels.append({"panel": panel, "series": series})
    return panels


# --- Drawing -------------------------------------------------------------------------------


def nice_number(value: float) -> float:
    exponent = math.floor(math.log10(value))
    fraction = value / 10**exponent
    nice = next(n for n in (1, 2, 2.5, 5, 10) if fraction <= n)
    return nice * 10**exponent


def y_ticks(low: float, high: float, count: int) -> list[float]:
    if high <= low:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = nice_number((high - low) / max(1, count))
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 0.5 and len(ticks) < 20:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


SI = [(1e9, " Bil"), (1e6, " Mil"), (1e3, " K")]
IEC = [(1024**3, " GiB"), (1024**2, " MiB"), (1024, " KiB")]


def decimals(step: float) -> int:
    return max(0, min(6, -math.floor(math.log10(step) + 1e-9))) if step > 0 else 0


def unit_formatter(unit: str, ticks: list[float]) -> Callable[[float], str]:
    """How an axis in Grafana's ``unit`` writes its values, scaled once for the whole axis."""
    top = max((abs(t) for t in ticks), default=1.0) or 1.0
    step = (ticks[1] - ticks[0]) if len(ticks) > 1 else top
    if unit == "percentunit":
        d = decimals(step * 100)
        return lambda v: f"{v * 100:.{d}f}%"
    if unit == "reqps":
        d = decimals(step)
        return lambda v: f"{v:.{d}f} req/s"
    if unit == "s":
        scale, suffix = next(
            ((s, x) for s, x in ((60.0, " min"), (1.0, " s"), (1e-3, " ms")) if top >= s),
            (1e-6, " µs"),
        )
        d = decimals(step / scale)
        return lambda v: f"{v / scale:.{d}f}{suffix}"
    table = IEC if unit == "bytes" else SI
    scale, suffix = next(
        ((s, x) for s, x in table if top >= s), (1.0, " B" if table is IEC else "")
    )
    d = decimals(step / scale)
    return lambda v: f"{v / scale:.{d}f}{suffix}"


def time_label(t: float, step: int) -> str:
    moment = datetime.fromtimestamp(t, UTC)
    return moment.strftime("%H:%M:%S" if step < 60 else "%H:%M")


def text(x: float, y: float, content: str, size: int = 11, **attributes: Any) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attributes.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{extra}>{escape(content)}</text>'


def fit(content: str, width: float, char_px: float = CHAR_PX) -> str:
    room = max(3, int(width / char_px))
    return content if len(content) <= room else content[: room - 1] + "…"


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float


def legend_rows(names: list[str], width: float) -> list[list[tuple[int, str]]]:
    """Grafana's list legend: entries left to right, wrapping, each cut to fit the panel."""
    rows: list[list[tuple[int, str]]] = [[]]
    used = 0.0
    for index, name in enumerate(names):
        label = fit(name, width - 20, LEGEND_CHAR_PX)
        need = 18 + len(label) * LEGEND_CHAR_PX + 14
        if rows[-1] and used + need > width:
            rows.append([])
            used = 0.0
        rows[-1].append((index, label))
        used += need
    return rows


def draw_legend(out: list[str], names: list[str], box: Box, rows: list[list]) -> None:
    for row_index, row in enumerate(rows):
        x = box.x
        y = box.y + row_index * 15
        for index, label in row:
            if index < 0:
                out.append(text(x, y + 1, label, 10.5, fill=MUTED))
                continue
            colour = PALETTE[index % len(PALETTE)]
            out.append(
                f'<rect x="{x:.1f}" y="{y - 3:.1f}" width="12" height="3" rx="1" fill="{colour}"/>'
            )
            out.append(text(x + 16, y + 1, label, 10.5, fill=TEXT))
            x += 18 + len(label) * LEGEND_CHAR_PX + 14


def draw_timeseries(out: list[str], box: Box, panel: dict, series: list[dict], span: tuple) -> None:
    start, end = span
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    names = [s["name"] for s in series]
    rows = legend_rows(names, box.w - 16)
    if len(rows) > LEGEND_ROWS:
        shown = sum(len(row) for row in rows[:LEGEND_ROWS])
        rows = rows[:LEGEND_ROWS]
        rows[-1] = [*rows[-1][:-1], (-1, f"+{len(names) - shown + 1} more")]
    legend_h = 15 * len(rows) + 4
    values = [v for s in series for _, v in s["points"]]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if low >= 0 and (low <= 0.5 * high or low == high):
        low = 0.0  # from zero, unless that would flatten the lines
    if low == high == 0:
        high = 1.0
    plot_h = box.h - 30 - 18 - legend_h
    ticks = y_ticks(low, high, max(2, int(plot_h / 32)))
    formatter = unit_formatter(unit, ticks)
    labels = [formatter(t) for t in ticks]
    axis_w = max(len(label) for label in labels) * CHAR_PX + 10
    plot = Box(box.x + 8 + axis_w, box.y + 30, box.w - 16 - axis_w, plot_h)
    low, high = ticks[0], ticks[-1]

    def px(t: float) -> float:
        return plot.x + (t - start) / (end - start) * plot.w

    def py(v: float) -> float:
        return plot.y + plot.h - (v - low) / (high - low) * plot.h

    for tick, label in zip(ticks, labels, strict=True):
        y = py(tick)
        out.append(
            f'<line x1="{plot.x:.1f}" y1="{y:.1f}" x2="{plot.x + plot.w:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>'
        )
        out.append(text(plot.x - 6, y + 3.5, label, 10, fill=MUTED, text_anchor="end"))
    step = nice_seconds((end - start) / max(1, plot.w / 70))
    tick = math.ceil(start / step) * step
    while tick <= end:
        x = px(tick)
        out.append(
            f'<line x1="{x:.1f}" y1="{plot.y:.1f}" x2="{x:.1f}" y2="{plot.y + plot.h:.1f}" '
            f'stroke="{GRID}"/>'
        )
        if 20 <= x - plot.x <= plot.w - 20:  # clear of the y axis and the panel's edge
            label = time_label(tick, step)
            out.append(text(x, plot.y + plot.h + 13, label, 10, fill=MUTED, text_anchor="middle"))
        tick += step
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        segments: list[list[str]] = []
        previous = None
        for t, v in item["points"]:
            if previous is None or t - previous > 1.5 * item["step"]:
                segments.append([])
            segments[-1].append(f"{px(t):.1f},{py(v):.1f}")
            previous = t
        for segment in segments:
            if len(segment) == 1:
                x, y = segment[0].split(",")
                out.append(f'<circle cx="{x}" cy="{y}" r="1.8" fill="{colour}"/>')
            else:
                out.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" '
                    'stroke-width="1.4" stroke-linejoin="round"/>'
                )
    if not series:
        out.append(text(plot.x + plot.w / 2, plot.y + plot.h / 2, "No data", 12, fill=MUTED))
    legend_box = Box(box.x + 8, box.y + box.h - legend_h + 6, box.w - 16, legend_h)
    draw_legend(out, names, legend_box, rows)


def bin_sort_key(value: str) -> tuple:
    number = re.match(r"\s*[\[(]?\s*(-?[\d.]+|-inf)", value)
    if number and not value[:2].isdigit():
        return (0, float(number[1]), value)
    return (1, 0.0, value)


def draw_bargauge(out: list[str], box: Box, panel: dict, series: list[dict]) -> None:
    """Last values as small multiples: a group of bars per value of the grouping label."""
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    bars = [(s["metric"], s["points"][-1][1]) for s in series if s["points"]]
    if not bars:
        out.append(text(box.x + box.w / 2, box.y + box.h / 2, "No data", 12, fill=MUTED))
        return
    keys = sorted({k for metric, _ in bars for k in metric if k != "__name__"})
    varying = [k for k in keys if len({m.get(k) for m, _ in bars}) > 1] or keys
    group_key = min(varying, key=lambda k: len({m.get(k) for m, _ in bars}))
    bar_key = next((k for k in varying if k != group_key), group_key)
    groups: dict[str, list[tuple[str, float]]] = {}
    for metric, value in bars:
        groups.setdefault(metric.get(group_key, ""), []).append((metric.get(bar_key, ""), value))
    high = max(value for _, value in bars)
    ticks = y_ticks(0.0, high, 4)
    formatter = unit_formatter(unit, ticks)
    labels = [formatter(t) for t in ticks]
    axis_w = max(len(label) for label in labels) * CHAR_PX + 10
    plot = Box(box.x + 8 + axis_w, box.y + 30, box.w - 16 - axis_w, box.h - 30 - 38)
    top = ticks[-1]
    for tick, label in zip(ticks, labels, strict=True):
        y = plot.y + plot.h - tick / top * plot.h
        out.append(
            f'<line x1="{plot.x:.1f}" y1="{y:.1f}" x2="{plot.x + plot.w:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>'
        )
        out.append(text(plot.x - 6, y + 3.5, label, 10, fill=MUTED, text_anchor="end"))
    group_w = plot.w / len(groups)
    for group_index, name in enumerate(sorted(groups)):
        members = sorted(groups[name], key=lambda item: bin_sort_key(item[0]))
        x0 = plot.x + group_index * group_w + 6
        bar_w = (group_w - 12) / len(members)
        for index, (_, value) in enumerate(members):
            h = value / top * plot.h
            out.append(
                f'<rect x="{x0 + index * bar_w + 0.6:.1f}" y="{plot.y + plot.h - h:.1f}" '
                f'width="{max(1.0, bar_w - 1.2):.1f}" height="{h:.1f}" fill="{PALETTE[0]}" '
                'fill-opacity="0.85"/>'
            )
        centre = plot.x + (group_index + 0.5) * group_w
        out.append(
            text(
                centre,
                plot.y + plot.h + 14,
                fit(name, group_w),
                10.5,
                fill=TEXT,
                text_anchor="middle",
            )
        )
        out.append(
            text(
                centre,
                plot.y + plot.h + 27,
                f"{len(members)} {bar_key}s, low to high",
                9.5,
                fill=MUTED,
                text_anchor="middle",
            )
        )


def render(dashboard: dict[str, Any], panels: list[dict], start: float, end: float) -> str:
    bottom = max(p["panel"]["gridPos"]["y"] + p["panel"]["gridPos"]["h"] for p in panels)
    height = HEADER + bottom * ROW_PX + 44
    column = (WIDTH - 2 * MARGIN) / 24
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="{FONT}">',
        f"<title>{escape(dashboard.get('title', 'Dashboard'))}: the bake's Grafana dashboard, "
        "drawn from Prometheus data by scripts/render_dashboard.py</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="{BACKGROUND}"/>',
        text(MARGIN, 28, dashboard.get("title", "Dashboard"), 18, fill=TEXT, font_weight="600"),
        text(MARGIN, 48, dashboard.get("description", ""), 11.5, fill=MUTED),
        text(
            WIDTH - MARGIN,
            24,
            "Rendered from Prometheus data by scripts/render_dashboard.py: not a Grafana screenshot",
            11,
            fill="#FF9830",
            text_anchor="end",
        ),
        text(
            WIDTH - MARGIN,
            42,
            f"{time_label(start, 1)} to {time_label(end, 1)} UTC, "
            f"{round(end - start)} s of a baked service under generated traffic",
            11,
            fill=MUTED,
            text_anchor="end",
        ),
    ]
    for item in panels:
        panel, grid = item["panel"], item["panel"]["gridPos"]
        box = Box(
            MARGIN + grid["x"] * column + GAP / 2,
            HEADER + grid["y"] * ROW_PX + GAP / 2,
            grid["w"] * column - GAP,
            grid["h"] * ROW_PX - GAP,
        )
        if panel.get("type") == "row":
            out.append(
                text(box.x, box.y + 17, "⌄ " + panel["title"], 14, fill=TEXT, font_weight="600")
            )
            continue
        out.append(
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
            f'rx="2" fill="{PANEL}" stroke="{BORDER}"/>'
        )
        out.append(
            text(
                box.x + 8,
                box.y + 18,
                fit(panel["title"], box.w - 16, 7),
                12.5,
                fill=TEXT,
                font_weight="500",
            )
        )
        if panel.get("type") == "bargauge":
            draw_bargauge(out, box, panel, item["series"])
        else:
            draw_timeseries(out, box, panel, item["series"], (start, end))
    out.append(
        text(
            MARGIN,
            height - 24,
            "Each panel's PromQL from the bake's deploy/compose/grafana/dashboards/dashboard.json, "
            "evaluated with query_range by a real Prometheus scraping the service every second.",
            10,
            fill=MUTED,
        )
    )
    filling = long_windows(dashboard, end - start)
    if filling:
        out.append(
            text(
                MARGIN,
                height - 10,
                f"Windows longer than the run ({', '.join(filling)}) were still filling: rates "
                "over them climb through the run, as in any service's first minutes.",
                10,
                fill=MUTED,
            )
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def long_windows(dashboard: dict[str, Any], seconds: float) -> list[str]:
    """The range selectors (``[5m]``) of the dashboard's queries longer than ``seconds``."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    found = {
        window
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for window in re.findall(r"\[(\d+[smhd])\]", target.get("expr", ""))
    }
    longer = [w for w in found if int(w[:-1]) * units[w[-1]] > seconds]
    return [f"[{w}]" for w in sorted(longer, key=lambda w: int(w[:-1]) * units[w[-1]])]


# --- Main ----------------------------------------------------------------------------------


def summary(panels: list[dict]) -> list[dict[str, Any]]:
    return [
        {
            "title": item["panel"]["title"],
            "type": item["panel"].get("type"),
            "series": [
                {
                    "name": s["name"],
                    "labels": s["metric"],
                    "query": s["query"],
                    "points": len(s["points"]),
                    "min": min((v for _, v in s["points"]), default=None),
                    "max": max((v for _, v in s["points"]), default=None),
                    "last": s["points"][-1][1] if s["points"] else None,
                }
                for s in item["series"]
            ],
        }
        for item in panels
        if item["panel"].get("type") != "row"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180, help="traffic phase length")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "images" / "dashboard.svg")
    parser.add_argument("--data", type=Path, help="also write each panel's series counts here")
    args = parser.parse_args()
    if not shutil.which("prometheus"):
        raise SystemExit("prometheus is needed: apt-get install -y prometheus")

    work = Path(tempfile.mkdtemp(prefix="render-dashboard-"))
    server = prometheus = None
    try:
        print("baking and installing the defaults", flush=True)
        project = bake_into(work / "bake")
        python = project_venv(project) / "bin" / "python"
        installed = Installed.install(project, python, work / "site")
        store = work / "models"
        for _ in range(3):
            installed.cli(store, "train-example")
        settings = {"MONITOR_INTERVAL_SECONDS": "2", "DRIFT_MIN_RECORDS": "50"}
        server = installed.serve(store, work / "server.jsonl", **settings)
        wait_for(server.port, "/readyz", 200)
        stack = project / "deploy" / "compose"
        (work / "prometheus").mkdir()
        prometheus = Prometheus.start(
            stack / "prometheus" / "prometheus.yml", server.port, work / "prometheus"
        )
        start = time.time()
        time.sleep(QUIET_SECONDS)
        print(f"driving {args.seconds:g} s of traffic", flush=True)
        traffic = drive(installed, store, server, args.seconds)
        print(f"  answers by status: {dict(sorted(traffic.statuses.items()))}", flush=True)
        if traffic.failures:
            print(f"  client errors: {traffic.failures[:3]}", flush=True)
        time.sleep(QUIET_SECONDS)  # the last scrapes and a monitor pass see the end
        end = time.time()
        dashboard = json.loads((stack / "grafana" / "dashboards" / "dashboard.json").read_text())
        panels = collect(prometheus.port, dashboard, start, end)
    finally:
        if prometheus is not None:
            prometheus.stop()
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    svg = render(dashboard, panels, start, end)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(svg)
    print(f"wrote {args.output.name}: {len(svg.encode()) // 1024} KiB", flush=True)
    if args.data:
        args.data.write_text(json.dumps(summary(panels), indent=2))
    for item in summary(panels):
        points = sum(s["points"] for s in item["series"])
        print(f"  {item['title']}: {len(item['series'])} series, {points} points", flush=True)


if __name__ == "__main__":
    main()
