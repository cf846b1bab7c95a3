"""The served n-gram features are scikit-learn's, read without it (assistant/nlu/ngrams.py)."""

import subprocess
import sys

import numpy as np
import pytest

from assistant.nlu.ngrams import CHARS, WORDS, NgramBlock, vectorizer

CORPUS = [
    "科创板开通要什么条件", "两融 利息 怎么算", "买100股茅台", "ETF 的 申购费 是多少？", "nhg 最少 多少钱",
    "Kcb  TIAOJIAN", "我想转人工", "逆回购周四买一天期 算几天利息", "a", "新股中签了钱不够怎么办",
]
UNSEEN = ["", "   ", "科", "创业板 开通 条件是什么", "ETF申购费多少钱", "ABC abc", "明天能买北交所吗?", "两融两融两融"]


@pytest.mark.parametrize("kind", [WORDS, CHARS])
def test_a_block_scores_what_scikit_learn_transforms(kind) -> None:
    fitted = vectorizer(kind).fit(CORPUS)
    block = NgramBlock.from_vectorizer(kind, fitted)
    identity = np.eye(len(block))
    texts = CORPUS + UNSEEN
    assert np.allclose(block.scores(texts, identity), fitted.transform(texts).toarray(), atol=1e-12)


def test_serving_imports_no_scikit_learn_or_pandas() -> None:
    """They cost seconds of every restart: the service reads the models' arrays and a dated calendar.
    (SciPy's sparse matrices stay: the BM25 library uses them.)"""
    code = ("import sys, assistant.app\n"
            "from assistant.tools.trading_rules import is_trading_day\n"
            "from datetime import date\n"
            "assert not is_trading_day(date(2025, 10, 1))\n"
            "print(sorted(m for m in ('sklearn', 'scipy.stats', 'scipy.optimize', 'pandas', 'exchange_calendars', 'joblib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
