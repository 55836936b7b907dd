"""Slow layer: scripts/render_dashboard.py for real, with a short traffic phase. It bakes and
serves the defaults, has Prometheus scrape them, and draws the dashboard; every panel must get
a series with data, so the picture in docs/images/ cannot silently be empty."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import bakery

pytestmark = pytest.mark.slow

SCRIPT = bakery.TEMPLATE / "scripts" / "render_dashboard.py"
DASHBOARD = bakery.TEMPLATE / (
    "{{cookiecutter.project_slug}}/_variants/monitoring_stack/compose/deploy/compose/"
    "grafana/dashboards/dashboard.json"
)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """The renderer run once with 20 s of traffic: the SVG and what each panel got."""
    work = tmp_path_factory.mktemp("render")
    svg, data = work / "dashboard.svg", work / "panels.json"
    command = [sys.executable, str(SCRIPT), "--seconds", "20", "--output", str(svg)]
    completed = subprocess.run(
        [*command, "--data", str(data)], capture_output=True, text=True, timeout=150
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return svg, json.loads(data.read_text())


@pytest.mark.timeout(180)
def test_every_panel_is_drawn_from_data(rendered: tuple[Path, list[dict]]) -> None:
    _, panels = rendered
    # The template's dashboard names its panels in Jinja for the task; count them instead.
    expected = sum(1 for line in DASHBOARD.read_text().splitlines() if '"gridPos"' in line)
    rows = DASHBOARD.read_text().count('"type": "row"')
    assert len(panels) == expected - rows
    empty = [p["title"] for p in panels if not any(s["points"] for s in p["series"])]
    assert not empty, empty


@pytest.mark.timeout(180)
def test_the_svg_is_self_contained_and_says_what_it_is(
    rendered: tuple[Path, list[dict]],
) -> None:
    svg, panels = rendered
    root = ET.parse(svg).getroot()  # well-formed XML
    texts = " ".join("".join(node.itertext()) for node in root.iter(f"{SVG}text"))
    assert "not a Grafana screenshot" in texts
    assert all(panel["title"] in texts for panel in panels)
    content = svg.read_text()
    for outside in ("href", "@import", "url("):  # no fonts, images or styles fetched
        assert outside not in content
    assert len(content.encode()) < 300_000
