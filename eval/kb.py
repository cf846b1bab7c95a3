"""`python -m eval kb`: retrieval and answer quality of the knowledge base on the golden set.

Prints, side by side for BM25 alone, dense alone and hybrid: recall@1, recall@5 and MRR@10;
then for the hybrid answers: how often the honest "not found" fires on answerable and
unanswerable questions, ragas metrics that need no LLM (non-LLM context recall/precision
against the reference passages, string similarity of the answer to the reference) and, when an
LLM endpoint is configured, ragas faithfulness and answer relevancy.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import warnings

from rich.console import Console
from rich.table import Table

from assistant.rag import KnowledgeBase
from assistant.settings import Settings
from eval.golden import GoldenItem, load_golden, load_unanswerable

MODES = ("bm25", "dense", "hybrid")


def first_relevant_ranks(kb: KnowledgeBase, items: list[GoldenItem], mode: str) -> list[int | None]:
    """For each question, the rank (1..10) of the first chunk that answers it, or None."""
    ranks = []
    for item in items:
        ranked = [hit.chunk.id for hit in kb.search(item.question, k=10, mode=mode)]
        relevant = set(item.chunk_ids)
        ranks.append(next((rank for rank, chunk_id in enumerate(ranked, start=1) if chunk_id in relevant), None))
    return ranks


def summarize(ranks: list[int | None]) -> dict[str, float]:
    n = max(len(ranks), 1)
    return {
        "recall@1": sum(r == 1 for r in ranks) / n,
        "recall@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "MRR@10": sum(1.0 / r for r in ranks if r) / n,
    }


def _ragas_scores(kb: KnowledgeBase, items: list[GoldenItem], answers: dict[str, object], settings: Settings,
                  console: Console) -> dict[str, float]:
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")  # ragas sends usage analytics otherwise
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from ragas.dataset_schema import SingleTurnSample
    from ragas.metrics import NonLLMContextPrecisionWithReference, NonLLMContextRecall, NonLLMStringSimilarity

    chunk_text = {chunk.id: chunk.text for chunk in kb.index.lexical.chunks}
    samples = []
    for item in items:
        answer = answers[item.id]
        samples.append(
            SingleTurnSample(
                user_input=item.question,
                response=answer.text,
                reference=item.reference,
                retrieved_contexts=[hit.chunk.text for hit in kb.search(item.question, k=5)],
                reference_contexts=[chunk_text[c] for c in item.chunk_ids if c in chunk_text],
            )
        )
    metrics = [NonLLMContextRecall(), NonLLMContextPrecisionWithReference(), NonLLMStringSimilarity()]
    if settings.llm_enabled:
        from langchain_openai import ChatOpenAI
        from ragas.llms import LangchainLLMWrapper
        from ragas.metrics import Faithfulness, ResponseRelevancy

        from eval.ragas_embeddings import AssistantEmbeddings

        llm = LangchainLLMWrapper(ChatOpenAI(
            base_url=settings.llm_base_url, model=settings.llm_model, temperature=0,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "none",
            timeout=max(settings.llm_timeout_s, 60),
        ))
        metrics += [Faithfulness(llm=llm), ResponseRelevancy(llm=llm, embeddings=AssistantEmbeddings(kb.index.embedder))]
    else:
        console.print("（未配置 LLM：跳过 ragas faithfulness / answer relevancy）", style="dim")

    async def score_all() -> dict[str, float]:
        results: dict[str, list[float]] = {}
        for metric in metrics:
            values = []
            for sample in samples:
                try:
                    values.append(float(await metric.single_turn_ascore(sample)))
                except Exception as exc:  # one bad LLM judgement should not sink the whole report
                    console.print(f"{metric.name}: {type(exc).__name__}", style="dim")
            results[metric.name] = values
        return {name: statistics.fmean(v) if v else float("nan") for name, v in results.items()}

    return asyncio.run(score_all())


def run(kb: KnowledgeBase, settings: Settings, *, console: Console, limit: int = 0) -> dict[str, dict[str, float]]:
    if not kb.ready:
        console.print("索引为空，正在建立索引……")
        kb.ingest()
    items = load_golden()
    if limit:
        items = items[:limit]
    unresolved = [item.id for item in items if not item.chunk_ids]
    if unresolved:
        raise SystemExit(f"golden items without chunk ids (run python -m eval.golden --write): {unresolved}")

    table = Table(title=f"检索：{len(items)} 个问题，{len(kb.index.lexical.chunks)} 个片段")
    table.add_column("mode")
    ranks = {mode: first_relevant_ranks(kb, items, mode) for mode in MODES}
    results: dict[str, dict[str, float]] = {mode: summarize(ranks[mode]) for mode in MODES}
    for name in results["hybrid"]:
        table.add_column(name, justify="right")
    for mode in MODES:
        table.add_row(mode, *(f"{value:.3f}" for value in results[mode].values()))
    # The fusion weights were chosen on the even-numbered items; the odd half is held out.
    for label, half in (("hybrid (调参半集 even)", ranks["hybrid"][0::2]), ("hybrid (留出半集 odd)", ranks["hybrid"][1::2])):
        table.add_row(label, *(f"{value:.3f}" for value in summarize(half).values()))
    console.print(table)

    started = time.perf_counter()
    answers = {item.id: kb.answer(item.question) for item in items}
    seconds = time.perf_counter() - started
    unanswerable = load_unanswerable()
    wrongly_answered = [q for q in unanswerable if kb.answer(q).found]
    answered = sum(a.found for a in answers.values()) / len(items)
    results["answers"] = {
        "answered (golden)": answered,
        "not found (unanswerable)": 1 - len(wrongly_answered) / len(unanswerable),
        "seconds per answer": seconds / len(items),
    }
    results["answers"].update(_ragas_scores(kb, items, answers, settings, console))
    answer_table = Table(title=f"回答：{answers and next(iter(answers.values())).mode} 模式")
    answer_table.add_column("metric")
    answer_table.add_column("value", justify="right")
    for name, value in results["answers"].items():
        answer_table.add_row(name, f"{value:.3f}")
    console.print(answer_table)
    if wrongly_answered:
        console.print(f"无关问题被作答：{wrongly_answered}", style="yellow")
    return results
