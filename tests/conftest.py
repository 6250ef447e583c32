"""Shared fixtures: paths to the development data and small hand-built conversations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CONVMAINT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared(*parts: str) -> Path:
    """A path under ../shared/data; the test is skipped (with the reason) when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"development data not available: {path} (see ../shared/data/README.md)")
    return path


@pytest.fixture
def shared_data():
    return shared
