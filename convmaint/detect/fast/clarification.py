"""Fast-mode (scan) detector for the clarification family: being written."""
