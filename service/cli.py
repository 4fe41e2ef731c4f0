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

from . import clock as clock_mod
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
    size = current_app.config["IMPORT_BATCH_SIZE"]
    try:
        with file_progress(file, file.name) as advance:
            result = func(
                database.sessionmaker,
                ri.read_csv(file, columns, advance),
                get_cipher(),
                # receipts: at most 2,000 rows a batch (one IN query each, within SQLite's bound variables)
                batch_size=size if kind == "residents" else min(size, 2000),
            )
    except ri.ImportFileError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    if result.inserted or result.updated:
        db_mod.refresh_statistics(database, ("residents",) if kind == "residents" else ("receipts",))
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
@click.option("--expires-days", type=click.IntRange(0, 3650), default=365, show_default=True,
              help="days until the token stops working; 0: never expires")  # fmt: skip
def create_token(institution: str, role: str, name: str | None, expires_days: int) -> None:
    """Print a new API bearer token, alone on the last line (only its hash and prefix are stored)."""
    from .security import SecurityError, issue_token

    try:
        with db_mod.get_db().session() as session:
            issued = issue_token(session, institution, role, name, expires_days)
    except SecurityError as exc:
        raise click.ClickException(str(exc)) from None
    expires = _kst(issued.expires_at) if issued.expires_at else None
    _audit_cli(
        "token.create", f"token:{issued.prefix}",
        {"institution": institution, "role": role, "name": name, "expires_at": expires or "never"},
    )  # fmt: skip
    until = f"{expires}까지 유효 (expires {expires})" if expires else "만료 없음 (never expires)"
    click.echo(
        f"토큰을 만들었습니다; 다시 볼 수 없으니 보관하세요 (token for {institution}/{role}, "
        f"prefix {issued.prefix}, {until}; shown once):"
    )
    click.echo(issued.token)


def _kst(value: Any) -> str:
    from .clock import SEOUL

    return str(value.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M")) if value else "-"


def _display_width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


@commands.command("list-tokens")
@click.option("--active", "active_only", is_flag=True, help="only tokens that still work")
def list_tokens(active_only: bool) -> None:
    """List API tokens: prefix, institution, role, name, created, last used, expires, status
    (never the token or its hash)."""
    from .security import list_tokens as tokens

    with db_mod.get_db().session() as session:
        infos = tokens(session, include_inactive=not active_only)
    header = ["접두어 prefix", "기관 institution", "역할 role", "이름 name", "만든 때 created",
              "마지막 사용 last used", "만료 expires", "상태 status"]  # fmt: skip
    rows = [
        [i.prefix or "(없음 none)", i.institution, i.role, i.name, _kst(i.created_at), _kst(i.last_used_at),
         _kst(i.expires_at) if i.expires_at else "없음 never", i.status]
        for i in infos
    ]  # fmt: skip
    widths = [max(_display_width(str(r[c])) for r in [header, *rows]) for c in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(v) + " " * (w - _display_width(str(v))) for v, w in zip(row, widths, strict=True)))
    click.echo(f"토큰 {len(rows)}개 ({len(rows)} tokens)")


@commands.command("revoke-token")
@click.argument("prefix")
def revoke_token(prefix: str) -> None:
    """Revoke the API token whose prefix (as list-tokens shows it) is PREFIX; refused at once."""
    from .security import SecurityError
    from .security import revoke_token as revoke

    try:
        with db_mod.get_db().session() as session:
            row, revoked_now = revoke(session, prefix)
            shown, institution, role, name, when = row.prefix, row.institution.code, row.role, row.name, row.revoked_at
    except SecurityError as exc:
        raise click.ClickException(str(exc)) from None
    if not revoked_now:
        click.echo(f"이미 폐기된 토큰입니다: {shown} ({institution}/{role}, {_kst(when)}) (already revoked)")
        return
    _audit_cli("token.revoke", f"token:{shown}", {"institution": institution, "role": role, "name": name})
    click.echo(f"토큰을 폐기했습니다: {shown} ({institution}/{role}, {name}) (revoked; refused from now on)")


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
    from .locks import lock_program_for_rescreen, rescreen_running
    from .programs import get_program
    from .rescreening import rescreen

    database = db_mod.get_db()
    with database.session() as session:
        begin_write(session)
        try:
            target = get_program(session, program)
        except ServiceError as exc:
            raise click.ClickException(f"{exc.ko} ({exc.en})") from None
        if rescreen_running(session, target.id):
            err_console.print("다른 재심사가 끝나기를 기다립니다 (waiting for the re-screening already running)")
        lock_program_for_rescreen(session, target.id, wait=True)
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


# --------------------------------------------------------------------------- key rotation and access records


@commands.command("rotate-key")
@click.option("--status", "show_status", is_flag=True, help="show which rows and entries each key still holds")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="rows per transaction")  # fmt: skip
@click.option("--pause", default=0.0, show_default=True, type=click.FloatRange(0, 60),
              help="seconds between batches, to go easy on a busy database")  # fmt: skip
def rotate_key(show_status: bool, batch_size: int, pause: float) -> None:
    """Re-encrypt every stored RRN and rebuild its blind index under SEONBYEOL_DATA_KEY (the old
    keys in SEONBYEOL_OLD_DATA_KEYS); resumable, and the service keeps serving meanwhile."""
    from . import keys
    from .security import get_cipher

    cipher, database = get_cipher(), db_mod.get_db()
    retention = int(current_app.config["AUDIT_RETENTION_DAYS"])
    if show_status:
        with database.sessionmaker() as session:
            _print_key_status(keys.status(session, cipher, retention))
        return
    if not cipher.previous:
        click.echo(
            "SEONBYEOL_OLD_DATA_KEYS가 비어 있습니다: 키 식별자가 없는 행에 현재 키의 식별자만 기록합니다 "
            "(no old keys given: rows without a key id are re-encrypted under the current key)"
        )

    def progress(table: str, last_id: int, report: keys.RotationReport) -> None:
        moved = ", ".join(f"{t} {n}" for t, n in report.moved.items()) or "0"
        click.echo(f"{table}: id {last_id}까지 확인, 옮긴 행 {moved} (checked up to id {last_id}; moved {moved})")
        sys.stdout.flush()

    try:
        report = keys.rotate(database.sessionmaker, cipher, batch_size, progress, pause)
    except keys.RotationError as exc:
        raise click.ClickException(str(exc)) from None
    moved = ", ".join(f"{t} {n}" for t, n in report.moved.items()) or "없음 (none)"
    click.echo(f"키 {cipher.key_id}(으)로 옮긴 행: {moved}; 일괄 처리 {report.batches}회")
    if report.conflicts:
        click.echo(f"충돌로 옮기지 못한 사람 {report.conflicts}명 (people not moved because of conflicting rows)")
    if not report.complete:
        left = ", ".join(f"{t} {n}" for t, n in report.remaining.items() if n)
        click.echo(
            f"아직 이전 키로 남은 행: {left}. 암호문이 없는 오래된 행(0005 이전)은 "
            f"주민·추천 기록과 연결될 때만 옮겨집니다; 다시 실행하거나 --status로 확인하세요 "
            f"(rows still under old keys: {left}; run again or see --status)"
        )
        sys.exit(1)
    click.echo(
        "완료: 모든 행이 현재 키로 옮겨졌습니다. 이전 키는 그 전에 쓴 접속기록을 주민등록번호로 "
        "검색할 때만 필요합니다; 언제까지인지는 rotate-key --status "
        "(complete: every row is under the current key; old keys are needed only to search older "
        "access records by RRN, see --status)"
    )


def _print_key_status(status: Any) -> None:
    from rich.table import Table

    console = Console()
    table = Table(title=f"키 링 (key ring): 현재 {status.current}, 이전 {', '.join(status.previous) or '없음'}")
    for column in ("표 (table)", "키 (key id)", "상태 (state)", "행 (rows)"):
        table.add_column(column, justify="right" if column.startswith("행") else "left")
    for name, by_key in status.rows.items():
        for key_id, count in sorted(by_key.items()):
            state = "현재 (current)" if key_id == status.current else ("0005 이전 (no key id)" if not key_id else
                                                                      "이전 (old)")  # fmt: skip
            table.add_row(name, key_id or "-", state, str(count))
    console.print(table)
    click.echo(f"이전 키에 남은 행 (rows not under the current key): {status.old_rows}")
    if status.audit_entries_before:
        until = status.audit_needs_old_keys_until
        when = until.astimezone(clock_mod.SEOUL).date().isoformat() if until else "순환 완료 후 (after the rotation)"
        click.echo(
            f"이전 키로 색인된 접속기록 {status.audit_entries_before}건: 주민등록번호로 검색하려면 이전 키를 "
            f"{when}까지 SEONBYEOL_OLD_DATA_KEYS에 두세요 (access records indexed under older keys: keep the old "
            f"keys until {when} to search them by RRN; the retention purge removes them then)"
        )
    elif not status.old_rows and status.previous:
        click.echo("이전 키는 더 이상 필요하지 않습니다 (the old keys are no longer needed; remove them)")


@commands.command("audit-report")
@click.option("--month", default=None, help="YYYY-MM in KST (default: last month)")
@click.option("--json", "as_json", is_flag=True, help="print the kept report as JSON instead of tables")
@click.option("--min-people", default=None, type=click.IntRange(1, 1_000_000),
              help="fewest distinct people for a volume flag (default 30)")  # fmt: skip
@click.option("--factor", default=None, type=click.FloatRange(1, 1000),
              help="times the peers' median for a volume flag (default 3)")  # fmt: skip
def audit_report(month: str | None, as_json: bool, min_people: int | None, factor: float | None) -> None:
    """Review a month's personal-data access: by actor, institution and action, with unusual
    volume and out-of-hours access flagged; the report is kept (audit_reports) and recorded."""
    import json as json_mod

    from . import audit
    from .errors import ServiceError

    if month is None:
        month = audit.previous_month(clock_mod.today())
    rules: dict[str, Any] = {}
    if min_people is not None:
        rules["min_people"] = min_people
    if factor is not None:
        rules["factor"] = factor
    try:
        with db_mod.get_db().sessionmaker() as session:
            kept = audit.keep_report(session, audit.CLI, month, **rules)
    except ServiceError as exc:
        raise click.ClickException(f"{exc.ko} ({exc.en})") from None
    if as_json:
        click.echo(json_mod.dumps({"id": kept.id, "sha256": kept.sha256, **kept.body}, ensure_ascii=False, indent=2))
        return
    _print_audit_report(kept.body)
    click.echo(f"보고서 #{kept.id}를 보관했습니다 (report kept: audit_reports #{kept.id}, sha256 {kept.sha256})")


def _print_audit_report(body: dict[str, Any]) -> None:
    from rich.table import Table

    console = Console()
    totals = body["totals"]
    console.print(
        f"[bold]{body['month']} 개인정보 접속기록 점검[/bold] ({body['period']['from']} – {body['period']['to']}): "
        f"기록 {totals['entries']}건, 정보주체 접근 {totals['with_subject']}건, 정보주체 {totals['people']}명, "
        f"사용자 {totals['actors']}명, 이상 징후 {totals['flags']}건"
    )
    actors = Table(title="사용자별 (by actor)")
    for column in ("사용자 (actor)", "역할 (role)", "기관 (institution)", "기록 (entries)", "정보주체 (people)",
                   "근무시간 외 (out of hours)", "동료 중앙값 (peer median)", "표시 (flags)"):  # fmt: skip
        actors.add_column(column)
    for row in body["by_actor"]:
        median = "-" if row["peer_median"] is None else f"{row['peer_median']:g}"
        actors.add_row(row["actor"], row["role"], row["institution"], str(row["entries"]), str(row["people"]),
                       str(row["out_of_hours"]), median, ", ".join(row["flags"]) or "")  # fmt: skip
    console.print(actors)
    for title, key, label in (("기관별 (by institution)", "by_institution", "institution"),
                              ("행위별 (by action)", "by_action", "action")):  # fmt: skip
        table = Table(title=title)
        for column in (label, "entries", "people", *(["actors"] if key == "by_institution" else [])):
            table.add_column(column)
        for row in body[key]:
            table.add_row(*[str(row[c]) for c in (label, "entries", "people", "actors") if c in row])
        console.print(table)
    closed = body["rules"]["working_hours"].get("closed_weekdays") or []
    if closed:  # the weekdays that counted as out of hours (public holidays, the district's closed days)
        days = ", ".join(f"{d['date']} {d['name_ko']}" for d in closed)
        console.print(f"근무일에서 뺀 평일 (weekdays counted as out of hours): {days}")
    if not body["flags"]:
        console.print("이상 징후 없음 (nothing unusual)")
    for flag in body["flags"]:
        who = f"{flag['actor']} ({flag['role']}, {flag['institution']})"
        console.print(f"[bold red]![/bold red] \\[{flag['kind']}] {who}: {flag['reason_ko']} ({flag['reason_en']})")


@commands.command("purge-audit")
@click.option("--before", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="delete only entries before this day (KST); never within the retention")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="count what would be deleted, delete nothing")
def purge_audit(before: Any, dry_run: bool) -> None:
    """Delete access records older than SEONBYEOL_AUDIT_RETENTION_DAYS (default 1095, at least
    730); never younger ones, even if asked. The purge is recorded in the log."""
    from . import audit

    retention = int(current_app.config["AUDIT_RETENTION_DAYS"])
    try:
        with db_mod.get_db().sessionmaker() as session:
            result = audit.purge(session, audit.CLI, retention, before.date() if before else None, dry_run)
    except audit.PurgeRefused as exc:
        raise click.ClickException(str(exc)) from None
    day = result.cutoff.date().isoformat()
    verb = "삭제 대상" if dry_run else "삭제"
    click.echo(
        f"보관 기간 {retention}일: {day} 이전 접속기록 {result.deleted}건 {verb} "
        f"({'would delete' if dry_run else 'deleted'} {result.deleted} entries before {day})"
    )


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
