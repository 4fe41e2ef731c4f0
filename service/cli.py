"""The ``seonbyeol`` command line (also ``flask --app service ...``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from . import db as db_mod
from .migrations_runner import upgrade
from .version import __version__

err_console = Console(stderr=True)
# Commands are declared on an AppGroup so that each runs inside an application context.
commands = AppGroup("seonbyeol")


@contextmanager
def file_progress(path: Path, label: str) -> Iterator[Callable[[int], None]]:
    """A byte-based progress bar on standard error for a streamed file."""
    total = path.stat().st_size if path.exists() else None
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def register_commands(app: Flask) -> None:
    for command in commands.commands.values():
        app.cli.add_command(command)
    app.cli.add_command(rules_group)


@commands.command("init-db")
def init_db() -> None:
    """Create or migrate the schema to the newest revision (safe to run twice)."""
    database = db_mod.get_db()
    upgrade(database.engine)
    click.echo("데이터베이스가 최신 스키마입니다 (database schema is up to date)")


@commands.command("load-district")
@click.argument("file", type=click.Path(path_type=Path))
def load_district(file: Path) -> None:
    """Load or update a district's configuration file (idempotent)."""
    from .district import DistrictFileError, parse_district_file
    from .district import load_district as load

    try:
        data = parse_district_file(file)
    except DistrictFileError as exc:
        raise click.ClickException(str(exc)) from None
    with db_mod.get_db().session() as session:
        summary = load(session, data)
    created = ", ".join(f"{k} {v}" for k, v in summary.created.items()) or "없음"
    updated = ", ".join(f"{k} {v}" for k, v in summary.updated.items()) or "없음"
    click.echo(f"{data['district']['name']} ({data['district']['code']}): 추가 {created}; 변경 {updated}")


def _report(result: Any, label: str) -> None:
    for line, reason in result.rejects:
        click.echo(f"{line}행 거부 (line {line} rejected): {reason}")
    if result.rejected > len(result.rejects):
        click.echo(f"... 외 {result.rejected - len(result.rejects)}건 (and more)")
    click.echo(
        f"{label}: 읽음 {result.read}, 추가 {result.inserted}, 변경 {result.updated}, "
        f"변경 없음 {result.unchanged}, 거부 {result.rejected} "
        f"(read {result.read}, inserted {result.inserted}, updated {result.updated}, "
        f"unchanged {result.unchanged}, rejected {result.rejected})"
    )


def _run_import(file: Path, kind: str) -> None:
    from . import registry_import as ri
    from .security import get_cipher

    columns = ri.RESIDENT_COLUMNS if kind == "residents" else ri.RECEIPT_COLUMNS
    func = ri.import_residents if kind == "residents" else ri.import_receipts
    database = db_mod.get_db()
    try:
        with file_progress(file, file.name) as advance:
            result = func(
                database.sessionmaker,
                ri.read_csv(file, columns, advance),
                get_cipher(),
                batch_size=current_app.config["IMPORT_BATCH_SIZE"],
            )
    except ri.ImportFileError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    _audit_cli(
        f"registry.import_{kind}", f"file:{file.name}",
        {"read": result.read, "inserted": result.inserted, "updated": result.updated,
         "unchanged": result.unchanged, "rejected": result.rejected},
    )  # fmt: skip
    _report(result, "주민 (residents)" if kind == "residents" else "수혜 이력 (receipts)")


def _audit_cli(action: str, target: str, detail: dict[str, Any]) -> None:
    """Record an operator's command in the access log (imports, tokens, users)."""
    from . import audit

    with db_mod.get_db().session() as session:
        audit.record(session, audit.CLI, action, target=target, detail=detail)


@commands.command("import-residents")
@click.argument("file", type=click.Path(path_type=Path))
def import_residents(file: Path) -> None:
    """Load or update the resident-registry snapshot (CSV); reports bad rows by line."""
    _run_import(file, "residents")


@commands.command("import-receipts")
@click.argument("file", type=click.Path(path_type=Path))
def import_receipts(file: Path) -> None:
    """Load past receipts of resources from other systems (CSV)."""
    _run_import(file, "receipts")


@commands.command("create-token")
@click.option("--institution", required=True, help="institution code")
@click.option("--role", required=True, help="admin | department | nominator | auditor | system")
@click.option("--name", default=None, help="a label for the token")
def create_token(institution: str, role: str, name: str | None) -> None:
    """Print a new API bearer token, alone on the last line (only its hash is stored)."""
    from .security import SecurityError
    from .security import create_token as make

    try:
        with db_mod.get_db().session() as session:
            token = make(session, institution, role, name)
    except SecurityError as exc:
        raise click.ClickException(str(exc)) from None
    _audit_cli("token.create", f"institution:{institution}", {"role": role, "name": name})
    click.echo(f"토큰을 만들었습니다; 다시 볼 수 없으니 보관하세요 (token for {institution}/{role}; shown once):")
    click.echo(token)


@commands.command("create-user")
@click.argument("username")
@click.option("--institution", required=True)
@click.option("--role", required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def create_user(username: str, institution: str, role: str, password_stdin: bool) -> None:
    """Create an admin-UI login (password asked, or --password-stdin)."""
    from .security import SecurityError
    from .security import create_user as make

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("비밀번호 (password)", hide_input=True, confirmation_prompt=True)
    try:
        with db_mod.get_db().session() as session:
            make(session, username, password, institution, role)
    except SecurityError as exc:
        raise click.ClickException(str(exc)) from None
    _audit_cli("user.create", f"user:{username}", {"institution": institution, "role": role})
    click.echo(f"사용자 {username}을(를) 만들었습니다 (user created: {institution}/{role})")


@commands.command("demo")
@click.option("--residents", "count", default=20000, show_default=True, type=click.IntRange(0, 999_999),
              help="synthetic residents")  # fmt: skip
@click.option("--district", "district_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="a district file (load-district format; default: Seongdong-gu); its <name>.demo.yaml "
              "beside it shapes the demo when present")  # fmt: skip
def demo(count: int, district_file: Path | None) -> None:
    """Fill an empty database with a district's demo (default Seongdong-gu; synthetic data)."""
    from .demo_loader import DemoError, load_demo
    from .security import SecurityError

    try:
        load_demo(current_app, count, echo=click.echo, district_file=district_file)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    if current_app.config.get("ENV") != "production":  # a known password never exists in production
        from .accounts import ensure_demo_login

        try:
            with db_mod.get_db().session() as session:
                click.echo(ensure_demo_login(session))
        except SecurityError as exc:  # a district file without the demo login's department
            click.echo(f"관리 화면 데모 로그인을 만들지 않았습니다 (no admin UI demo login): {exc}")


@commands.command("rescreen")
@click.argument("program")
def rescreen_command(program: str) -> None:
    """Re-screen every open and confirmed nomination of PROGRAM against the newest registry and rules."""
    from .audit import CLI
    from .db import begin_write
    from .errors import ServiceError
    from .programs import get_program
    from .rescreening import rescreen

    database = db_mod.get_db()
    with database.session() as session:
        begin_write(session)
        try:
            target = get_program(session, program)
        except ServiceError as exc:
            raise click.ClickException(f"{exc.ko} ({exc.en})") from None
        with Progress(
            TextColumn(f"[bold]{program}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TimeRemainingColumn(), console=err_console,
        ) as progress:  # fmt: skip
            task = progress.add_task(program, total=None)
            summary = rescreen(
                session, target, CLI, progress=lambda done, total: progress.update(task, completed=done, total=total)
            )
    o = summary.outcomes
    click.echo(
        f"{program}: 재심사 {summary.screened}건, 판정 변경 {summary.changed}건, 부적격 전환 "
        f"{summary.turned_ineligible}건, 새 판정 기록 {summary.stored}건 (eligible {o['eligible']}, "
        f"review {o['review']}, ineligible {o['ineligible']}; engine calls {summary.engine_calls})"
    )


@commands.command("replay")
@click.argument("program")
def replay_command(program: str) -> None:
    """Re-derive every stored verdict of PROGRAM from its stored facts and rule-set version;
    exit non-zero on any difference."""
    from .audit import CLI, record
    from .errors import ServiceError
    from .programs import get_program
    from .replay import replay_program

    database = db_mod.get_db()
    with database.session() as session:
        try:
            target = get_program(session, program)
        except ServiceError as exc:
            raise click.ClickException(f"{exc.ko} ({exc.en})") from None
        total = different = 0
        for item in replay_program(session, target.id):
            total += 1
            if not item.identical:
                different += 1
                why = item.problem or f"{item.stored.get('outcome')} → {(item.replayed or {}).get('outcome')}"
                click.echo(f"다름 (differs): nomination {item.nomination_id} at {item.evaluated_at}: {why}")
        record(session, CLI, "program.replay", target=f"program:{program}",
               detail={"verdicts": total, "different": different})  # fmt: skip
    click.echo(
        f"{program}: 판정 {total}건 재현, 동일 {total - different}건, 다름 {different}건 "
        f"(replayed {total}, identical {total - different}, different {different})"
    )
    if different:
        sys.exit(1)


@commands.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, envvar="SEONBYEOL_BIND", show_envvar=True)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), envvar="SEONBYEOL_WORKERS",
              show_envvar=True)  # fmt: skip
def serve(bind: str, workers: int) -> None:
    """Start the production server (gunicorn, one app per worker process; SIGTERM stops it gracefully)."""
    from rules import RuleSetError

    from .policies import library
    from .server import ServerConfigError, gunicorn_options, run

    try:  # a broken policy file stops start-up here, naming its file, line and field
        library(current_app)
    except RuleSetError as exc:
        raise click.ClickException(f"정책 파일 오류로 시작하지 않습니다 (policy files are invalid):\n{exc}") from None
    try:
        gunicorn_options(bind, workers)  # a bad SEONBYEOL_TIMEOUT etc. is a message, not a traceback
    except ServerConfigError as exc:
        raise click.ClickException(str(exc)) from None
    run(bind=bind, workers=workers, config=current_app.config)


@commands.command("smoke")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, envvar="SEONBYEOL_SMOKE_URL",
              help="the running server to check")  # fmt: skip
@click.option("--token", default=None, help="use this bearer token (default: a temporary system token, revoked after)")
@click.option("--program", default=None, help="program to dry-run an evaluation for (default: the first open one)")
def smoke(url: str, token: str | None, program: str | None) -> None:
    """Check a running server end to end: health, readiness, API, a dry-run evaluation (exit 1 on failure)."""
    from . import smoke as smoke_mod

    database = db_mod.get_db()
    temporary = None
    if token is None:
        with database.session() as session:
            temporary = token = smoke_mod.make_token(session)

    def revoke() -> None:
        with database.session() as session:
            smoke_mod.revoke_token(session, str(temporary))

    try:
        report = smoke_mod.run_smoke(url, token, __version__, program, revoke if temporary else None, click.echo)
    finally:
        if temporary:
            revoke()
    _audit_cli("smoke.run", f"url:{url}", {"passed": report.passed, "failed": report.failed, "skipped": report.skipped})
    total = report.passed + report.failed + report.skipped
    if not report.ok:
        click.echo(f"스모크 시험 실패: {report.failed}/{total} (smoke test FAILED)")
        sys.exit(1)
    click.echo(f"스모크 시험 통과: {report.passed}/{total}, 건너뜀 {report.skipped} (smoke test passed)")


@click.group("rules", cls=AppGroup, help="Rule-set tools.")
def rules_group() -> None:
    pass


@rules_group.command("test", with_appcontext=False)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def rules_test(paths: tuple[Path, ...]) -> None:
    """Validate rule-set YAML files and run their examples (default: the configured policies
    directory, SEONBYEOL_POLICIES_DIR or policies/)."""
    from rules.testing import run_rule_tests

    from .config import DEFAULTS, from_environment

    targets = list(paths) or [Path(from_environment().get("POLICIES_DIR") or DEFAULTS["POLICIES_DIR"])]
    code = run_rule_tests(targets, sys.stdout)
    sys.exit(code)


def _create_app(**_: Any) -> Flask:
    from . import create_app

    # Commands read the policy library when they need it, so that `rules test` can report a
    # broken policy file instead of failing to start; `serve` validates it before starting.
    return create_app({"LOAD_POLICIES_AT_START": False})


class _Group(FlaskGroup):
    pass


main = _Group(
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,  # Flask's would print Flask's and Python's versions, not this release
    help="선별 (seonbyeol): welfare pre-screening",
)
main = click.version_option(__version__, "--version", prog_name="seonbyeol", message="%(prog)s %(version)s")(main)


if __name__ == "__main__":
    main()
