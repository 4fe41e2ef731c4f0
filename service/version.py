"""The release of the installed package, read from its metadata (pyproject's ``version``).

One source for ``seonbyeol --version`` and ``/healthz``: an office reporting a problem can say
which release answers, and the number cannot drift from what pip installed.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

DISTRIBUTION = "seonbyeol"


def package_version() -> str:
    """The installed distribution's version; ``0+unknown`` when run from a tree that was never installed."""
    try:
        return _distribution_version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"


__version__ = package_version()
