"""Shared fixtures. The Agg backend keeps plotting headless; figures are closed after each test."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

REFERENCE = Path(__file__).parent / "reference" / "metafor_reference.json"


@pytest.fixture(scope="session")
def ref() -> dict:
    """Pinned metafor values written by tests/reference/make_reference.R."""
    return json.loads(REFERENCE.read_text())


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
