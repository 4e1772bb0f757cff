"""Uploads stored content-addressed: the file name is the sha256 of its bytes, written atomically."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

_HEX = frozenset("0123456789abcdef")


def is_sha256(text: str) -> bool:
    """Whether ``text`` is a sha256 digest as stored: 64 lower-case hex characters."""
    return len(text) == 64 and set(text) <= _HEX


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    path: Path


class UploadStore:
    """Files under ``root/ab/cd/<sha256><suffix>``; storing the same bytes twice keeps one copy."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def check_writable(self) -> None:
        """Refuse a store that cannot keep files (an ``OSError`` naming the folder), before uploads are
        accepted: otherwise every upload would fail once the service says it is ready."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root):
                pass
        except OSError as error:
            raise OSError(
                f"the upload store {self.root} is not writable ({error}); check SERAGAM_DATA_DIR"
            ) from None

    def location(self, sha256: str, suffix: str) -> Path:
        """Where the file of these bytes is (or would be) kept."""
        if not is_sha256(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        if suffix and (not suffix.startswith(".") or not suffix[1:].isalnum()):
            raise ValueError(f"bad file suffix {suffix!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}{suffix}"

    def put(self, data: bytes, suffix: str) -> StoredFile:
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.location(sha256, suffix)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
                tmp.write(data)
            os.replace(tmp.name, path)
        return StoredFile(sha256, len(data), path)

    def adopt(self, staged: Path, sha256: str, suffix: str) -> StoredFile:
        """Move a file already written (and hashed) elsewhere on the same file system into the store."""
        path = self.location(sha256, suffix)
        size = staged.stat().st_size
        if path.exists():
            staged.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, path)
        return StoredFile(sha256, size, path)

    def path(self, sha256: str, suffix: str) -> Path:
        path = self.location(sha256, suffix)
        if not path.exists():
            raise FileNotFoundError(f"no stored file {sha256}{suffix}")
        return path

    def remove(self, sha256: str, suffix: str) -> int:
        """Delete a stored file (retention, deletion requests); returns how many files went (0 or 1)."""
        path = self.location(sha256, suffix)
        try:
            path.unlink()
        except FileNotFoundError:
            return 0
        return 1
