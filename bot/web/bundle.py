"""The widget as the page downloads it: socket.io-client (npm, pinned) + our widget.js in one file,
built once at start-up, gzipped once, served with an ETag."""
from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from bot.settings import REPO_ROOT

STATIC_DIR = Path(__file__).resolve().parent / "static"
SOCKET_IO_CLIENT = REPO_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
_SOURCE_MAP = re.compile(rb"\n?//# sourceMappingURL=\S+\s*$")


class BundleMissing(RuntimeError):
    """node_modules has not been installed (run `npm ci` at the repo root)."""


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str
    content_type: str


def make_asset(body: bytes, content_type: str) -> Asset:
    etag = hashlib.sha256(body).hexdigest()[:16]
    return Asset(body, gzip.compress(body, 9, mtime=0), etag, content_type)


def build_widget_js(client_path: Path = SOCKET_IO_CLIENT) -> Asset:
    if not client_path.exists():
        shown = (client_path.relative_to(REPO_ROOT) if client_path.is_relative_to(REPO_ROOT)
                 else client_path)
        raise BundleMissing(f"{shown} is missing: run `npm ci` in the repository root")
    client = _SOURCE_MAP.sub(b"", client_path.read_bytes())
    widget = (STATIC_DIR / "widget.js").read_bytes()
    return make_asset(client + b"\n;\n" + widget, "application/javascript; charset=utf-8")


def build_widget_css() -> Asset:
    return make_asset((STATIC_DIR / "widget.css").read_bytes(), "text/css; charset=utf-8")
