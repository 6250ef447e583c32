"""Fast-mode (scan) detector for the topic family: being written."""
