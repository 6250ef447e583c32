"""Helpers detectors share (convmaint.detect.base)."""

from __future__ import annotations

from convmaint.detect.base import frozen_attributes
from convmaint.model import FrozenDict, Move


def test_frozen_attributes_are_shared_and_kept_by_moves():
    a = frozen_attributes(kind="open", marked=True)
    assert isinstance(a, FrozenDict) and a == {"kind": "open", "marked": True}
    assert frozen_attributes(kind="open", marked=True) is a  # one object per distinct set
    assert frozen_attributes(marked=True, kind="open") is not a  # (keyword order is part of the key)
    assert frozen_attributes(kind="closed", marked=True) != a
    assert Move("topic.shift", 0, 0, 1, attributes=a).attributes is a  # a Move does not copy it
