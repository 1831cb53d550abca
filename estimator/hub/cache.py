"""Response caches: in memory for the page, on disk for the command line.

Only successful bodies are stored, keyed by the request URL, which spells out
endpoint, repo, revision and file (the token is never part of it). Online, an
entry older than ``max_age`` is fetched again so ``main`` does not go stale;
offline (``HF_HUB_OFFLINE=1``) any entry is used, and huggingface_hub's own
download cache is read too, so a model already downloaded with
``huggingface-cli download`` works with no network at all.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Protocol

__all__ = ["Cache", "DiskCache", "HfHubFiles", "MemoryCache"]

#: Online, re-fetch cached answers older than this (seconds).
DEFAULT_MAX_AGE = 24 * 3600.0


class Cache(Protocol):
    """Where response bodies are kept between requests."""

    def get(self, key: str, max_age: float | None) -> bytes | None: ...

    def put(self, key: str, body: bytes) -> None: ...


class MemoryCache:
    """A dict of bodies, for the page (one per tab; lost on reload)."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, bytes]] = {}

    def get(self, key: str, max_age: float | None) -> bytes | None:
        item = self._items.get(key)
        if item is None or (max_age is not None and time.time() - item[0] > max_age):
            return None
        return item[1]

    def put(self, key: str, body: bytes) -> None:
        self._items[key] = (time.time(), body)

    def __len__(self) -> int:
        return len(self._items)


class DiskCache:
    """One file per key under ``root`` (named by the key's SHA-256), written atomically.

    Errors writing the cache (read-only home, full disk) are ignored: a cache
    must never be the reason an estimate fails.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.root / digest[:2] / digest

    def get(self, key: str, max_age: float | None) -> bytes | None:
        path = self.path_for(key)
        try:
            if max_age is not None and time.time() - path.stat().st_mtime > max_age:
                return None
            return path.read_bytes()
        except OSError:
            return None

    def put(self, key: str, body: bytes) -> None:
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(body)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass


class HfHubFiles:
    """Read-only view of huggingface_hub's download cache (``$HF_HUB_CACHE``).

    Layout: ``models--org--name/refs/<branch>`` holds a commit hash and
    ``models--org--name/snapshots/<hash>/<file>`` the file.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def read(self, repo_id: str, revision: str, filename: str) -> bytes | None:
        """The cached file, or None. Every path is checked to stay inside the repo's
        folder (huggingface_hub ``_get_pointer_path`` does the same): a revision, a
        commit read from a refs file or a file name with ``..`` reads nothing."""
        repo_dir = self.root / ("models--" + repo_id.replace("/", "--"))
        commit = revision
        ref = _inside(repo_dir / "refs", revision)
        try:
            if ref is not None and ref.is_file():
                commit = ref.read_text(encoding="utf-8").strip()
            snapshot = _inside(repo_dir / "snapshots", commit)
            path = _inside(snapshot, filename) if snapshot is not None else None
            return path.read_bytes() if path is not None else None
        except (OSError, ValueError):
            return None


def _inside(folder: Path, relative: str) -> Path | None:
    """``folder / relative`` if it stays strictly inside ``folder`` (no ``..``, no
    absolute path), else None. Symlinks are not resolved: the HF cache is made of them."""
    if not relative or "\x00" in relative or "\\" in relative:
        return None
    path = Path(os.path.normpath(folder / relative))
    base = Path(os.path.normpath(folder))
    if path == base or base not in path.parents:
        return None
    return path
