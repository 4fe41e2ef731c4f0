"""``schemathesis run --checks all`` against a real server on a demo database, once per role.

Run by ``make fuzz`` after the in-process campaign (or alone:
``.venv/bin/python tests/security/fuzz_live.py --examples 12``). It builds a throw-away SQLite
database with the Seongdong-gu demo, makes an admin, a department and a nominator token,
starts ``seonbyeol serve`` on a free local port and runs the schemathesis command line with
every check against it for each token. Only failures of the kinds SECURITY.md explains are
accepted (ST202: a request valid by the document refused with a 422 because it names a program,
category or parameter that does not exist, or lacks a download's reason); anything else, and
any 5xx, makes it exit non-zero.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKENS = {"admin": ("welfare-policy", "admin"), "department": ("senior-welfare", "department"),
          "nominator": ("haengdang1-center", "nominator")}  # fmt: skip
ACCEPTED = {"ST202"}
"""Failure kinds explained in SECURITY.md (schema-valid requests that the contract answers with 422)."""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seonbyeol(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "seonbyeol"), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=int(os.environ.get("SEONBYEOL_FUZZ_LIVE_EXAMPLES", "12")))
    parser.add_argument("--residents", type=int, default=3000)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seonbyeol-fuzz-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'demo.db'}", "SEONBYEOL_INSTANCE_PATH": str(work),
           "SEONBYEOL_RATE_LIMIT": "off", "SEONBYEOL_ENV": "development"}  # fmt: skip
    env.pop("SEONBYEOL_FROZEN_NOW", None)
    _seonbyeol(env, "init-db")
    _seonbyeol(env, "demo", "--residents", str(options.residents))
    tokens = {
        role: _seonbyeol(env, "create-token", "--institution", inst, "--role", r, "--name", f"fuzz-{role}")
        .strip()
        .splitlines()[-1]
        for role, (inst, r) in TOKENS.items()
    }
    port = _free_port()
    with (work / "server.log").open("wb") as log:
        server = subprocess.Popen([str(BIN / "seonbyeol"), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    unexplained = 0
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        for role, token in tokens.items():
            run = subprocess.run(
                [str(BIN / "schemathesis"), "run", f"{base}/api/v1/openapi.json", "--checks", "all",
                 "-H", f"Authorization: Bearer {token}", "-n", str(options.examples), "--seed", "1", "-w", "2",
                 "--suppress-health-check", "all"],
                capture_output=True, text=True, env={**env, "NO_COLOR": "1"}, cwd=work,  # its cache stays there
            )  # fmt: skip
            (work / f"schemathesis-{role}.txt").write_text(run.stdout + run.stderr)
            generated = re.search(r"(\d+) generated", run.stdout)
            kinds = dict(re.findall(r"(ST\d+) [^:\n]+: (\d+)", run.stdout))
            others = {k: v for k, v in kinds.items() if k not in ACCEPTED}
            if generated is None or "Server error" in run.stdout:
                others["run"] = f"exit {run.returncode}: see schemathesis-{role}.txt"
            unexplained += len(others)
            print(f"{role}: {generated.group(1) if generated else '?'} cases, failures by kind {kinds or '{}'}"
                  f"{'' if not others else ' — UNEXPLAINED: ' + str(others)}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"reports and the server log: {work}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
