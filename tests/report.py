"""Figures and transcripts the issues ask for, printed past pytest's capture into CI's log."""

from __future__ import annotations

import pytest


def say(config: pytest.Config, topic: str, *figures: object) -> None:
    """Print ``figures`` under ``[topic]``, even while pytest captures output."""
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n[{topic}]", *figures, flush=True)
