"""``python -m service.probe``: the container's HEALTHCHECK, asking this server's ``/readyz``.

Standard library only and no app built, so a probe every few seconds costs a few milliseconds;
it asks the port of ``SEONBYEOL_BIND`` on the loopback interface (the image binds 0.0.0.0:8000).
Exit 0 when the server answers 200 (database up, schema current), 1 otherwise, as Docker expects.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def probe_url(environ: dict[str, str] | None = None) -> str:
    """The readiness URL of the server this environment configures."""
    env = os.environ if environ is None else environ
    bind = env.get("SEONBYEOL_BIND", "") or "127.0.0.1:8000"
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0", "[::]", "::"):  # listening everywhere: ask the loopback
        host = "127.0.0.1"
    return f"http://{host}:{port or '8000'}/readyz"


def main() -> int:
    url = probe_url()
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:
            ok = resp.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"준비되지 않음 (not ready): {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
