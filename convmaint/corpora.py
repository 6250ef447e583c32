"""The manifest of public dialogue corpora, and downloads with checksums where a direct one exists."""

from __future__ import annotations

import hashlib
import os
import shutil
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convmaint.errors import ConfigError, ConvmaintError

__all__ = ["CorpusEntry", "DownloadError", "download", "list_corpora", "manifest_path"]

_FIELDS = ("name", "title", "kind", "licence", "citation", "url", "download", "sha256", "access", "reader", "gold")


class DownloadError(ConvmaintError):
    """A corpus cannot be downloaded (no direct download, network failure, checksum mismatch)."""


@dataclass(frozen=True)
class CorpusEntry:
    name: str
    title: str
    kind: str
    licence: str
    citation: str
    url: str
    download: str
    sha256: str
    access: str
    reader: str
    gold: str

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in _FIELDS}


def manifest_path() -> Path:
    from convmaint.resources import resource_dir

    return resource_dir("corpora") / "public.toml"


def list_corpora(path: str | os.PathLike | None = None) -> list[CorpusEntry]:
    """The public corpora of the manifest (``convmaint corpora list``)."""
    p = Path(path) if path else manifest_path()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read corpus manifest: {exc}", path=p) from None
    out = []
    for i, row in enumerate(data.get("corpus", []), start=1):
        missing = [f for f in _FIELDS if f not in row]
        if missing:
            raise ConfigError(f"manifest entry lacks {', '.join(missing)}", path=p, record=f"corpus {i}")
        if row["access"] not in ("direct", "login", "licence"):
            raise ConfigError(f"access must be direct, login or licence, got {row['access']!r}", path=p, record=row["name"])
        out.append(CorpusEntry(**{f: str(row[f]) for f in _FIELDS}))
    return out


def _entry(name: str, manifest: str | os.PathLike | None) -> CorpusEntry:
    entries = {e.name: e for e in list_corpora(manifest)}
    if name not in entries:
        raise ConfigError(f"unknown corpus {name!r}; known: {', '.join(sorted(entries))}")
    return entries[name]


def download(name: str, dest: str | os.PathLike, *, manifest: str | os.PathLike | None = None,
             url: str | None = None, timeout: float = 60.0) -> dict[str, str]:
    """Download a corpus archive into ``dest`` and verify its checksum.

    Args:
        name: A corpus name from the manifest.
        dest: Folder to write the file into (created).
        manifest: Another manifest file (default: the bundled one).
        url: Override the manifest's download address (a mirror, or a ``file://`` URL).

    Returns:
        ``{"path": …, "sha256": …, "verified": "yes"|"no checksum in manifest"}``.

    Raises:
        DownloadError: no direct download (login or licence needed: the message says where to
            go), a network error, or a checksum mismatch (the partial file is removed).
    """
    entry = _entry(name, manifest)
    src = url or entry.download
    if not src:
        how = "an account on the hub and accepting its terms" if entry.access == "login" else "a licence agreement"
        raise DownloadError(f"{entry.title} has no direct download: it needs {how}. Get it at {entry.url}, "
                            f"then read it with the {entry.reader} reader")
    dest_dir = Path(dest)
    dest_dir.mkdir(parents=True, exist_ok=True)
    fname = Path(urllib.parse.urlparse(src).path).name or f"{name}.download"
    target = dest_dir / fname
    part = dest_dir / f".{fname}.part"
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(src, timeout=timeout) as resp, open(part, "wb") as fh:  # noqa: S310 (user-chosen URL)
            while chunk := resp.read(1 << 20):
                digest.update(chunk)
                fh.write(chunk)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"cannot download {src}: {getattr(exc, 'reason', exc)}") from None
    got = digest.hexdigest()
    if entry.sha256 and got != entry.sha256.lower():
        part.unlink(missing_ok=True)
        raise DownloadError(f"checksum mismatch for {src}: expected sha256 {entry.sha256}, got {got}; file removed")
    shutil.move(str(part), target)
    return {"path": str(target), "sha256": got, "verified": "yes" if entry.sha256 else "no checksum in manifest"}
