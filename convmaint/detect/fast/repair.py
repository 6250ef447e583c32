"""Fast-mode (scan) detector for the repair family: being written."""
