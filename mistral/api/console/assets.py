"""The console's files: read from the package, served with validators.

Every file lives in ``mistral/api/console/static`` and ships in the Python
package. A file is read once (again when it changes on disk) and kept in
memory with its ETag and a gzip copy (when that is smaller). It is
answered with ``Cache-Control: no-cache``: a browser keeps it but asks
again with ``If-None-Match`` and gets a 304, so an upgraded server is seen
on the next page load without hashed file names.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import posixpath
import stat
import threading
from typing import Iterable

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'static')

CONTENT_TYPES = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.svg': 'image/svg+xml',
    '.png': 'image/png',
    '.ico': 'image/x-icon',
    '.json': 'application/json',
    '.txt': 'text/plain; charset=utf-8',
    '.LICENSE': 'text/plain; charset=utf-8',
}

# Types worth compressing (the images are compressed already).
_COMPRESSIBLE = ('text/', 'application/json', 'image/svg+xml')


class Asset:
    """One file's bytes, type, ETag and optional gzip copy."""

    def __init__(self, body: bytes, content_type: str) -> None:
        self.body = body
        self.content_type = content_type
        self.etag = '"%s"' % hashlib.sha256(body).hexdigest()[:32]
        self.gzipped: bytes | None = None
        if content_type.startswith(_COMPRESSIBLE) and len(body) > 512:
            packed = gzip.compress(body, 6, mtime=0)
            if len(packed) < len(body):
                self.gzipped = packed


def content_type(path: str) -> str:
    ext = os.path.splitext(path)[1]
    return CONTENT_TYPES.get(ext, 'application/octet-stream')


def safe_relpath(path: str) -> str | None:
    """``path`` (URL form, below the static root) if it stays inside it.

    Refuses ``..`` segments, absolute paths, backslashes and NUL bytes, so
    no request reads a file outside the static directory.
    """
    if not path or '\0' in path or '\\' in path or path.startswith('/'):
        return None
    norm = posixpath.normpath(path)
    if norm.startswith('..') or norm == '.' or norm != path:
        return None
    if any(part.startswith('.') for part in norm.split('/')):
        return None
    return norm


class AssetStore:
    """The static files, loaded on first use and kept."""

    def __init__(self, root: str = STATIC_DIR) -> None:
        self.root = root
        self._cache: dict[str, tuple[tuple[int, int], Asset]] = {}
        self._lock = threading.Lock()

    def get(self, path: str) -> Asset | None:
        """The asset at ``path`` (relative, URL form), or None.

        A file changed on disk (an upgrade in place, a developer's edit)
        is read again: one stat per request decides.
        """
        rel = safe_relpath(path)
        if rel is None:
            return None
        full = os.path.join(self.root, *rel.split('/'))
        try:
            st = os.stat(full)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(rel)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with open(full, 'rb') as f:
            asset = Asset(f.read(), content_type(rel))
        with self._lock:
            self._cache[rel] = (stamp, asset)
        return asset

    def names(self) -> Iterable[str]:
        """Every file below the root, relative, in URL form."""
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                full = os.path.join(dirpath, name)
                yield os.path.relpath(full, self.root).replace(os.sep, '/')
