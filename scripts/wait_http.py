"""Wait until every given URL answers HTTP 200, or fail after a timeout."""
from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    pending = list(args.urls)
    while pending:
        pending = [u for u in pending if not ready(u)]
        if pending and time.monotonic() > deadline:
            print(f"not ready after {args.timeout:.0f}s: {', '.join(pending)}", file=sys.stderr)
            return 1
        if pending:
            time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
