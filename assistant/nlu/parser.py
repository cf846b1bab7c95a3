"""nlu.parse: one message to an intent with its confidence and the slots it names."""

from __future__ import annotations

from datetime import date

from assistant.domain import ParseResult
from assistant.nlu.classifier import IntentClassifier
from assistant.nlu.normalize import normalize_text
from assistant.nlu.securities import SecurityMaster
from assistant.nlu.slots import SlotExtractor


class NluParser:
    def __init__(self, master: SecurityMaster, classifier: IntentClassifier) -> None:
        self.master = master
        self.classifier = classifier
        self.slots = SlotExtractor(master)

    def parse(self, text: str, today: date) -> ParseResult:
        """Context-free: the dialogue layer decides what a bare "200股" answers."""
        clean = normalize_text(text)
        return ParseResult(text=clean, intent=self.classifier.classify(clean), slots=self.slots.extract(clean, today))
