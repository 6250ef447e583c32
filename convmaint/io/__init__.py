"""Transcript readers and writers: one module per format, a registry, sniffing and the loader."""

from convmaint.io.base import ReadContext, Reader, RoleMap, parse_role
from convmaint.io.loader import ErrorLog, load
from convmaint.io.registry import get_reader, readers, register_reader, sniff

__all__ = [
    "ErrorLog",
    "ReadContext",
    "Reader",
    "RoleMap",
    "get_reader",
    "load",
    "parse_role",
    "readers",
    "register_reader",
    "sniff",
]
