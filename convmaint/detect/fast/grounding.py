"""Fast-mode (scan) detector for the grounding family: being written."""
