"""The nearest-exemplar votes (opt-in, ASSISTANT_GUARD_EXEMPLAR_WEIGHT): the closest training texts
decide where the n-grams are unsure, and nothing is embedded where they are sure."""

from __future__ import annotations

import numpy as np

from assistant.compliance.classifier import RuleClassifier
from assistant.compliance.exemplars import ExemplarIndex

EXAMPLES = [
    ("这只基金稳赚不赔，放心买。", {"guaranteed_return"}),
    ("保本保收益，到期一定兑付。", {"guaranteed_return"}),
    ("亏了算我的，您放心。", {"guaranteed_return"}),
    ("本产品不保本，可能损失本金。", set()),
    ("基金有风险，投资需谨慎。", set()),
    ("ETF跟踪指数，管理费每年0.15%。", set()),
]


def fake_embed(texts: list[str]) -> np.ndarray:
    """A unit vector per text: texts sharing a marker word point the same way."""
    out = []
    for t in texts:
        v = np.array([("稳赚" in t or "保本保" in t or "算我的" in t) * 1.0, ("风险" in t or "不保本" in t) * 1.0,
                      ("ETF" in t or "指数" in t) * 1.0, 0.1])
        out.append(v / np.linalg.norm(v))
    return np.array(out, dtype=np.float32)


def test_the_nearest_training_texts_vote_for_their_labels() -> None:
    index = ExemplarIndex.build(fake_embed, [t for t, _ in EXAMPLES], [lab for _, lab in EXAMPLES], ("guaranteed_return",))
    votes = index.votes(fake_embed(["稳赚的产品", "跟踪指数的ETF"]), k=3)
    assert votes[0, 0] > 0.9 and votes[1, 0] < 0.1


def test_only_the_sentences_the_ngrams_are_unsure_of_are_embedded(tmp_path) -> None:
    seen: list[str] = []

    def embed(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return fake_embed(texts)

    text = "今天天气不错，适合出门散步。"
    plain = RuleClassifier("plain", ("guaranteed_return",), lambda: EXAMPLES, cache_dir=tmp_path)
    p = float(plain.probabilities(text)[1]["guaranteed_return"].max())
    model = RuleClassifier("votes", ("guaranteed_return",), lambda: EXAMPLES, cache_dir=tmp_path, embed=embed,
                           exemplar_weight=0.2)
    model.ensure_trained()
    # Far from the threshold, the vote (at most 0.2 of the probability) could not change the verdict: nothing is embedded.
    model.threshold = min(0.99, p + 0.5)
    seen.clear()
    assert np.isclose(float(model.probabilities(text)[1]["guaranteed_return"].max()), p) and seen == []
    # Just above it, the nearest texts vote, and this sentence's neighbours are compliant.
    model.threshold = p + 0.05
    assert float(model.probabilities(text)[1]["guaranteed_return"].max()) < p and seen
