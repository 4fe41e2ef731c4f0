"""Instructions per in-process ``POST /api/v1/evaluate``, counted by callgrind: a figure that does
not drift with the machine's speed, for comparing two versions of the code.

Run it as a script (it is not a pytest test; it needs valgrind; about 3 minutes a tree)::

    .venv/bin/python tests/bench/bench_instructions.py [--tree PATH ...]

Set-up: a scratch SQLite demo database (``seonbyeol init-db`` and ``demo``) and a nominator token.
For each code tree (default: this one; ``--tree`` another checkout, e.g. a ``git worktree`` of
the commit to compare with), it runs :func:`requests` under ``valgrind --tool=callgrind`` twice,
with ``--few`` and ``--many`` requests after the same 50 warm-up requests, each time on a fresh
copy of the database and with ``PYTHONHASHSEED=0``, and prints ``(many - few) / (many - few
requests)``: start-up, warm-up and the copy cancel out. The requests are direct WSGI calls with
environs built before (no HTTP, no test client), bodies round-robin over 200 demo residents and
their programs (as bench_api.py sends them).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import bench_api  # noqa: E402  (tests/bench, beside this script)


def requests(conf_path: str, count: int) -> None:
    """In this process: 50 warm-up evaluate requests, then ``count`` more (what callgrind counts);
    ``service`` comes from the tree :func:`counted` puts first on ``PYTHONPATH``."""
    import logging

    from werkzeug.test import EnvironBuilder

    from service import create_app

    conf = json.loads(Path(conf_path).read_text())
    app = create_app({"DATABASE_URL": conf["url"], "DATA_KEY": conf["key"], "SECRET_KEY": "bench",
                      "RATE_LIMIT": "off", "INSTANCE_PATH": conf["instance"]})  # fmt: skip
    logging.getLogger().handlers[:] = [logging.NullHandler()]
    bodies = [json.dumps(b, ensure_ascii=False).encode() for b in bench_api.evaluate_bodies()]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {conf['token']}", "Host": "bench"}
    environs = [EnvironBuilder(path="/api/v1/evaluate", method="POST", data=bodies[n % len(bodies)],
                               headers=headers).get_environ() for n in range(50 + count)]  # fmt: skip
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc: Any = None) -> None:
        statuses.append(status)

    for environ in environs:
        answer = app(environ, start_response)
        b"".join(answer)
        answer.close()  # type: ignore[attr-defined]
        if not statuses[-1].startswith("200"):
            raise SystemExit(f"evaluate answered {statuses[-1]}")


def counted(tree: str, conf: dict[str, str], count: int, tmp: Path) -> int:
    """Instructions callgrind counts for one process running :func:`requests` on a fresh copy."""
    run = tmp / f"run-{count}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    shutil.copy(conf["db"], run / "demo.db")
    run_conf = {**conf, "url": f"sqlite:///{run / 'demo.db'}", "instance": str(run)}
    (run / "conf.json").write_text(json.dumps(run_conf))
    code = f"import sys; sys.path.insert(0, {str(BENCH_DIR)!r}); import bench_instructions as b; " \
           f"b.requests({str(run / 'conf.json')!r}, {count})"  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": tree}
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
                          code], env=env, capture_output=True, text=True, check=True)  # fmt: skip
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no total:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tree", action="append", help="a code tree to count (default: this one); repeatable")
    parser.add_argument("--few", type=int, default=20)
    parser.add_argument("--many", type=int, default=220)
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    trees = [str(Path(t).resolve()) for t in (args.tree or [str(ROOT)])]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "demo.db"
        env = dict(os.environ)
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        env.update({"DATABASE_URL": f"sqlite:///{db}", "SEONBYEOL_DATA_KEY": key, "SEONBYEOL_SECRET_KEY": "bench",
                    "SEONBYEOL_RATE_LIMIT": "off", "SEONBYEOL_INSTANCE_PATH": tmp_name})  # fmt: skip
        bench_api.cli(env, "init-db")
        bench_api.cli(env, "demo")
        token = bench_api.cli(env, "create-token", "--institution", "haengdang1-center", "--role", "nominator")
        import sqlite3

        with sqlite3.connect(db) as conn:  # the copies start from one file, the WAL folded in
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conf = {"db": str(db), "key": key, "token": token.strip().splitlines()[-1].split()[-1]}
        for tree in trees:
            few, many = (counted(tree, conf, n, tmp) for n in (args.few, args.many))
            per = (many - few) / (args.many - args.few)
            print(f"MEASURE instructions per in-process evaluate  {per:,.0f}  ({tree}; callgrind, "
                  f"{args.many} minus {args.few} requests)")  # fmt: skip


if __name__ == "__main__":
    main()
