"""Turns on one conversation run one at a time, on SQLite and on PostgreSQL (CI), so that two tabs,
a double tap or a retry can never both act on the same pending order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from assistant.domain import Turn
from tests.conftest import PROJECT_ROOT, Chat, assistant_orders, make_settings


@pytest.fixture
def shared_engine(database, tmp_path, nlu_parser, clock, guard_models):
    from assistant.app import build_engine

    database.migrate()
    settings = make_settings(tmp_path / "var", PROJECT_ROOT / "knowledge_base")
    return build_engine(settings, database, nlu_parser, kb=lambda: None, clock=clock, guards=guard_models)


def _placements(engine, conversation_id: str) -> list:
    return [r for r in engine.audit.records(conversation_id=conversation_id)
            if r["event"] == "order" and (r["data"] or {}).get("operation") == "place"]


def test_ten_simultaneous_confirmations_place_one_order_and_say_so_once(shared_engine) -> None:
    engine = shared_engine
    chat = Chat(engine, "100001")
    assert chat.say("买100股五粮液 市价").pending_confirmation is not None

    def confirm(_: int):
        return engine.handle(Turn(conversation_id=chat.id, customer_id="100001", text="确认"))

    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(confirm, range(10)))

    assert sum("委托已提交" in r.text for r in replies) == 1
    assert sum("没有需要您确认" in r.text for r in replies) == 9
    assert len(assistant_orders(engine, "100001")) == 1
    transcript = engine.store.messages(chat.id, limit=200)
    assert sum("委托已提交" in m.text for m in transcript) == 1
    assert len(_placements(engine, chat.id)) == 1


def test_a_retried_confirmation_after_a_lost_reply_reports_the_order_it_placed(engine, monkeypatch) -> None:
    """The worker died after the broker took the order but before the turn was stored: the retry
    must find that order by its key, not check again against the cash it already spent."""
    chat = Chat(engine, "100002")
    assert chat.say("买入 511880 400股 市价").pending_confirmation is not None
    saved = engine.store.save_turn

    def die(*args, **kwargs):
        raise RuntimeError("the worker died before the turn was stored")

    monkeypatch.setattr(engine.store, "save_turn", die)
    with pytest.raises(RuntimeError):
        chat.say("确认")
    monkeypatch.setattr(engine.store, "save_turn", saved)
    assert len(assistant_orders(engine, "100002")) == 1

    retry = chat.say("确认")
    assert "委托已提交" in retry.text and "没有提交" not in retry.text
    assert len(assistant_orders(engine, "100002")) == 1
