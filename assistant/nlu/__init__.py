"""Understanding the customer's words. For now: text normalisation shared with retrieval."""

from assistant.nlu.normalize import normalize_text

__all__ = ["normalize_text"]
