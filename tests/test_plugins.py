"""Third-party readers and detectors arrive through entry points; the registries pin what is built in."""

from __future__ import annotations

from convmaint import _plugins
from convmaint.detect.base import detector_classes
from convmaint.io.base import Reader
from convmaint.io.registry import readers


class _EP:
    def __init__(self, obj):
        self.obj = obj

    def load(self):
        return self.obj


class ThirdPartyReader(Reader):
    name = "thirdparty"
    extensions = (".tp",)


def test_entry_point_classes_are_returned(monkeypatch):
    monkeypatch.setattr(_plugins, "entry_points", lambda group: [_EP(ThirdPartyReader), _EP(object), _EP(len)])
    found = _plugins.load_plugins("convmaint.io", (), "convmaint.readers", Reader)
    assert found == [ThirdPartyReader]


def test_registered_snapshot():
    assert sorted(readers()) == ["cha", "chat", "convokit", "csv", "dailydialog", "hh_rlhf", "mrda", "mrda-dadb",
                                 "native", "plain", "sharegpt", "swda", "tiage", "topical_chat"]
    assert list(detector_classes()) == ["clarification.fast.v1", "clarification.v1", "repair.fast.v1", "repair.v1",
                                        "topic.fast.v1", "topic.v1", "grounding.fast.v1", "grounding.v1"]
