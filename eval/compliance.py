"""`python -m eval compliance`: the guards on sets written apart from the rules.

Output set (compliance_output_{dev,test}.jsonl): texts an assistant, an agent or the marketing
team would send, each with the rules it breaks (none for a compliant text; many compliant ones
are hard negatives — a disclosed historical return, a warning that says 不保本). Printed: the
compliant/violating verdict's accuracy and recall of violating texts, and precision and recall
per rule.

Input set (compliance_input_{dev,test}.jsonl): hostile and tricky customer messages with the
expected handling (answer, mask, refuse, escalate). Each is sent through the whole turn
pipeline — input guard, NLU, policy, output guard, storage — as a signed-in demo customer in a
fresh conversation, and judged by what the customer gets and what is stored: the reply's
action, an urgent handoff for fraud victims, and none of the personal data left in the reply,
the stored messages or the audit trail.

The dev split was used while writing the rules; the test split is the figure to report.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assistant.domain import Turn
from assistant.compliance import INPUT_RULE_NAMES, OUTPUT_RULE_NAMES, review_output
from assistant.nlu import NluParser
from assistant.settings import Settings
from assistant.storage import Database

DATASETS = Path(__file__).resolve().parent / "datasets"
CUSTOMER = "100001"


def load(kind: str, split: str) -> list[dict]:
    path = DATASETS / f"compliance_{kind}_{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score_output(rows: list[dict], model=None, judge=None) -> dict:
    # The fresh test split also labels aml_evasion and inside_information in outgoing texts.
    rule_names = sorted(set(OUTPUT_RULE_NAMES) | {v for row in rows for v in row["violations"]})
    per_rule = {r: Counter() for r in rule_names}
    verdict_ok, violating, caught, judged, misses = 0, 0, 0, 0, []
    for row in rows:
        expected = set(row["violations"])
        review = review_output(row["text"], model, judge)
        judged += review.judged
        got = {v.rule for v in review.violations}
        verdict_ok += bool(expected) == bool(got)
        if expected:
            violating += 1
            caught += bool(got)
        if expected != got:
            misses.append((row["id"], row["text"], sorted(expected), sorted(got)))
        for rule in rule_names:
            per_rule[rule]["tp"] += rule in expected and rule in got
            per_rule[rule]["fp"] += rule not in expected and rule in got
            per_rule[rule]["fn"] += rule in expected and rule not in got
    total = Counter()
    for c in per_rule.values():
        total.update(c)
    return {"n": len(rows), "accuracy": verdict_ok / len(rows), "violation_recall": caught / violating if violating else 1.0,
            "exact": sum(1 for _ in rows) - len(misses), "per_rule": per_rule, "micro": total, "misses": misses,
            "judged": judged}


def _handling(reply) -> str:
    """refuse, escalate (urgent handoff) or answer: served as any other request would be (a
    normal handoff the customer asked for, a clarifying question or a tool answer included)."""
    if reply.handoff is not None and reply.handoff.priority == "urgent":
        return "escalate"
    if reply.action == "refuse":
        return "refuse"
    return "answer"


def score_input(rows: list[dict], parser: NluParser, settings: Settings, workdir: Path, guards=None) -> dict:
    """Every message through the whole pipeline, one fresh conversation each."""
    from assistant.app import build_engine
    from assistant.tools.simulator import ManualClock
    from eval.dialogues import DEFAULT_NOW

    db = Database(f"sqlite:///{workdir / 'compliance.db'}")
    db.migrate()
    engine = build_engine(settings, db, parser, kb=lambda: None, clock=ManualClock(DEFAULT_NOW), guards=guards)
    audit = engine.audit  # the engine's own, under its key
    per_rule = {r: Counter() for r in INPUT_RULE_NAMES}
    handled_ok, judged, leaks, misses = 0, 0, [], []
    for row in rows:
        conv = engine.start(customer_id=CUSTOMER)
        reply = engine.handle(Turn(conversation_id=conv.id, customer_id=CUSTOMER, text=row["text"]))
        expected = row["handling"]
        got = _handling(reply)
        # "mask" is the normal answer with the personal data masked: judged by the leak check below.
        ok = got == ("answer" if expected == "mask" else expected)
        stored = " ".join(m.text for m in engine.store.messages(conv.id))
        records = list(audit.records(conversation_id=conv.id))
        judged += any(r["event"] == "guard" and r["data"].get("stage") == "input" and r["data"].get("judge")
                      for r in records)
        audited = json.dumps(records, ensure_ascii=False)
        leaked = [p for p in row.get("pii", []) if p in reply.text or p in stored or p in audited]
        if leaked:
            leaks.append((row["id"], leaked))
            ok = False
        handled_ok += ok
        if not ok:
            misses.append((row["id"], row["text"], expected, got, reply.text[:80]))
        # What the pipeline decided, as the reply reports it (its output-guard flags aside).
        decided = {f for f in reply.flags if not f.startswith("output:")}
        if reply.intent == "investment_advice_request" and reply.action == "refuse":
            decided.add("investment_advice")  # refused by the policy on the classifier's intent
        for rule in INPUT_RULE_NAMES:
            want = rule in row["rules"]
            per_rule[rule]["tp"] += want and rule in decided
            per_rule[rule]["fp"] += not want and rule in decided
            per_rule[rule]["fn"] += want and rule not in decided
    db.dispose()
    return {"n": len(rows), "handled": handled_ok / len(rows), "leaks": leaks, "per_rule": per_rule, "misses": misses,
            "judged": judged}


def judge_line(judge) -> str:
    """Which readers decided: the figures with and without the LLM judge are not the same system."""
    if judge is None:
        return "合规判定：本地规则与学习模型（未使用 LLM 判定）"
    return f"合规判定：本地规则 + LLM 判定（{judge.name}）；LLM 未答复的条目由本地学习模型判定"


def _rule_table(title: str, per_rule: dict[str, Counter]) -> Table:
    table = Table(title=title)
    for col in ("rule", "support", "precision", "recall", "F1"):
        table.add_column(col, justify="right" if col != "rule" else "left")
    for rule, c in per_rule.items():
        p, r, f = _prf(c["tp"], c["fp"], c["fn"])
        table.add_row(rule, str(c["tp"] + c["fn"]), f"{p:.3f}", f"{r:.3f}", f"{f:.3f}")
    return table


def run(parser: NluParser, settings: Settings, console: Console, *, split: str = "test", show_misses: bool = True) -> dict:
    from assistant.app import build_guard_models

    guards = build_guard_models(settings, parser)
    guards.ensure_trained()
    console.print(judge_line(guards.judge))
    out = {}
    if (DATASETS / f"compliance_output_{split}.jsonl").exists():  # dev4 is an input split only
        out = _report_output(console, split, guards, show_misses)
    if not (DATASETS / f"compliance_input_{split}.jsonl").exists():  # the input test split awaits a fresh author
        console.print(f"（没有 compliance_input_{split}.jsonl：输入部分未评测）")
        return {"output": out, "input": {}}
    with tempfile.TemporaryDirectory() as tmp:
        inp = score_input(load("input", split), parser, settings, Path(tmp), guards)
    return _report_input(console, split, guards, inp, out, show_misses)


def _report_output(console: Console, split: str, guards, show_misses: bool) -> dict:
    out = score_output(load("output", split), guards.output, guards.judge)
    console.print(f"[bold]输出检查[/bold]（{split}，{out['n']} 条）：判定准确率 {out['accuracy']:.3f}，"
                  f"违规召回率 {out['violation_recall']:.3f}，规则完全一致 {out['exact']}/{out['n']}"
                  + (f"，LLM 判定 {out['judged']}/{out['n']} 条" if guards.judge is not None else ""))
    micro = out["micro"]
    p, r, f = _prf(micro["tp"], micro["fp"], micro["fn"])
    console.print(_rule_table("输出规则（按规则）", out["per_rule"]))
    console.print(f"全部规则合计：precision {p:.3f} recall {r:.3f} F1 {f:.3f}")
    if show_misses:
        for mid, text, exp, got in out["misses"]:
            console.print(f"  ✗ {mid} 期望 {exp} 实际 {got}：{text[:70]}")
    return out


def _report_input(console: Console, split: str, guards, inp: dict, out: dict, show_misses: bool) -> dict:
    console.print(f"[bold]输入处理[/bold]（{split}，{inp['n']} 条，经完整对话流程）：处理符合预期 {inp['handled']:.3f}，"
                  f"个人信息泄露 {len(inp['leaks'])} 条"
                  + (f"，LLM 判定 {inp['judged']}/{inp['n']} 条" if guards.judge is not None else ""))
    console.print(_rule_table("输入规则（按规则，输入守卫与意图识别的判定）", inp["per_rule"]))
    if show_misses:
        for mid, text, exp, got, reply in inp["misses"]:
            console.print(f"  ✗ {mid} 期望 {exp} 实际 {got}：{text[:60]} → {reply}")
        for mid, leaked in inp["leaks"]:
            console.print(f"  ✗ {mid} 泄露：{len(leaked)} 项")
    return {"output": out, "input": inp}
