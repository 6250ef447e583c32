"""The convmaint version, read by the build and stamped into every output."""

__version__ = "0.1.0"
