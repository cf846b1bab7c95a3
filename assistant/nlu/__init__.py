"""Understanding the customer's words: normalisation, intents, slots, the securities master list."""

from assistant.nlu.classifier import IntentClassifier
from assistant.nlu.ngrams import NgramBlock, load_or_build
from assistant.nlu.normalize import normalize_text
from assistant.nlu.parser import NluParser
from assistant.nlu.securities import BOARD_NAMES, Security, SecurityMaster, default_master
from assistant.nlu.slots import chinese_to_number
from assistant.nlu.taxonomy import INTENTS, LABELS

__all__ = [
    "BOARD_NAMES",
    "INTENTS",
    "LABELS",
    "IntentClassifier",
    "NluParser",
    "Security",
    "SecurityMaster",
    "chinese_to_number",
    "default_master",
    "NgramBlock",
    "load_or_build",
    "normalize_text",
]
