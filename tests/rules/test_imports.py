"""rules/ is a library: it must never pull in the web framework, the ORM or the service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_rules_imports_neither_flask_nor_sqlalchemy_nor_service() -> None:
    code = (
        "import json, sys\n"
        "import rules, rules.engine, rules.loader, rules.testing, rules.verdict, rules.reference\n"
        "import rules.__main__\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout))
    assert "rules.engine" in modules
    for forbidden in ("flask", "sqlalchemy", "service"):
        assert not {m for m in modules if m == forbidden or m.startswith(forbidden + ".")}
