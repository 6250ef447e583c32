"""Move detectors: one module per family (repair, clarification, topic, grounding) and a registry."""

from convmaint.detect.base import Detector, detector_classes, make_detectors, register_detector, units

__all__ = ["Detector", "detector_classes", "make_detectors", "register_detector", "units"]
