"""The Seongdong-gu demo: the district file and synthetic (fictitious) registry data."""

from __future__ import annotations

from pathlib import Path

DISTRICT_FILE: Path = Path(__file__).with_name("seongdong.yaml")
"""The demo district file (``seonbyeol load-district`` format)."""

__all__ = ["DISTRICT_FILE"]
