"""`python -m eval stt`: speech-to-text on ../shared/voice-dev and on our larger set.

For each set and for three configurations side by side: the full pipeline (domain prompt, short
encoder window, normalisation, pinyin correction against the master list and the lexicon), the
same without the correction ("no correction"), and the plain model (faster-whisper as it comes:
no prompt, 30-second window, no correction; only the same scoring normalisation), it prints:

- CER: character edit distance over reference characters, both sides in the scoring form
  (simplified, numbers as digits, no punctuation or spaces);
- security accuracy: of the sentences that name a security, the share whose transcript writes
  its name, an alias or its code literally (the NLU's own homophone search is not credited);
- intent accuracy: the NLU parser on the transcript against the labelled intent;
- RTF: processing seconds (transcription, normalisation, correction) over audio seconds.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rapidfuzz.distance import Levenshtein
from rich.console import Console
from rich.table import Table

from assistant.nlu import NluParser
from assistant.settings import PROJECT_ROOT
from assistant.speech import AudioError, SpeechRecognizer, text_for_scoring

VOICE_DEV = PROJECT_ROOT.parent / "shared" / "voice-dev"
AUGMENTED = Path(__file__).resolve().parent / "datasets" / "stt_augmented"


@dataclass
class Clip:
    id: str
    path: Path
    text: str
    intent: str
    entity: str
    variant: str = "clean"


@dataclass
class Score:
    edits: int = 0
    chars: int = 0
    named: int = 0
    with_entity: int = 0
    intents_ok: int = 0
    clips: int = 0
    seconds: float = 0.0
    audio_s: float = 0.0
    misses: list[str] = field(default_factory=list)

    @property
    def cer(self) -> float:
        return self.edits / max(1, self.chars)

    @property
    def security_acc(self) -> float:
        return self.named / self.with_entity if self.with_entity else float("nan")

    @property
    def intent_acc(self) -> float:
        return self.intents_ok / max(1, self.clips)

    @property
    def rtf(self) -> float:
        return self.seconds / max(1e-9, self.audio_s)


def load_voice_dev(path: Path = VOICE_DEV) -> list[Clip]:
    rows = csv.DictReader((path / "sentences.tsv").open(encoding="utf-8"), delimiter="\t")
    return [Clip(r["id"], path / f"{r['id']}.wav", r["text"], r["intent"], r["entity"] or "") for r in rows]


def load_augmented(path: Path = AUGMENTED) -> list[Clip]:
    rows = csv.DictReader((path / "manifest.tsv").open(encoding="utf-8"), delimiter="\t")
    return [Clip(r["id"], path / r["file"], r["text"], r["intent"], r["entity"] or "", r["variant"]) for r in rows]


def names_security(text: str, code: str, parser: NluParser) -> bool:
    security = parser.master.get(code)
    if security is None:
        return False
    return any(term.lower() in text.lower() for term in (security.name, *security.aliases, security.code))


def score(clips: list[Clip], recognizer: SpeechRecognizer, parser: NluParser, *, plain: bool,
          hotwords: str | None = None, correct: bool = True) -> dict[str, Score]:
    """Scores per variant and over all clips ("all")."""
    scores: dict[str, Score] = {"all": Score()}
    for clip in clips:
        samples = recognizer.decode(clip.path.read_bytes()).samples
        start = time.perf_counter()
        try:
            text = recognizer.transcribe_samples(samples, plain=plain, hotwords=hotwords, correct=correct).text
        except AudioError:  # nothing recognised: scored as an empty transcript
            text = ""
        seconds = time.perf_counter() - start
        ref, hyp = text_for_scoring(clip.text), text_for_scoring(text)
        edits = Levenshtein.distance(ref, hyp)
        intent = parser.parse(text, date.today()).intent.label if text else "none"
        for key in ("all", clip.variant):
            s = scores.setdefault(key, Score())
            s.edits += edits
            s.chars += len(ref)
            s.clips += 1
            s.intents_ok += intent == clip.intent
            s.seconds += seconds
            s.audio_s += len(samples) / 16_000
            if clip.entity:
                s.with_entity += 1
                s.named += names_security(text, clip.entity, parser)
            if key == "all" and (edits or intent != clip.intent):
                s.misses.append(f"{clip.id}: {clip.text} → {text} ({intent})")
    return scores


def _table(title: str, full: dict[str, Score], uncorrected: dict[str, Score], plain: dict[str, Score]) -> Table:
    table = Table(title=title)
    for col in ("clips", "pipeline", "CER", "security acc", "intent acc", "RTF"):
        table.add_column(col, justify="left" if col in ("clips", "pipeline") else "right")
    for key in full:
        for label, s in (("full", full[key]), ("no correction", uncorrected[key]), ("plain", plain[key])):
            table.add_row(f"{key} ({s.clips})", label, f"{s.cer:.3f}",
                          f"{s.security_acc:.3f} ({s.named}/{s.with_entity})", f"{s.intent_acc:.3f}", f"{s.rtf:.3f}")
    return table


def run(recognizer: SpeechRecognizer, parser: NluParser, console: Console, *,
        sets: tuple[str, ...] = ("voice-dev", "augmented"), voice_dev: Path = VOICE_DEV, hotwords: int = 0,
        show_misses: bool = True) -> dict[str, dict[str, float]]:
    parser.classifier.ensure_trained()
    warm = recognizer.decode((voice_dev / "dv01.wav").read_bytes()).samples
    recognizer.transcribe_samples(warm)  # the first call pays for memory allocation; not a customer's
    names = "、".join(s.name for s in parser.master.securities[:hotwords]) or None
    figures: dict[str, dict[str, float]] = {}
    for name in sets:
        clips = load_voice_dev(voice_dev) if name == "voice-dev" else load_augmented()
        full = score(clips, recognizer, parser, plain=False, hotwords=names)
        uncorrected = score(clips, recognizer, parser, plain=False, hotwords=names, correct=False)
        plain = score(clips, recognizer, parser, plain=True)
        console.print(_table(f"Speech-to-text on {name} (beam {recognizer.beam_size}, "
                             f"window {recognizer.window_s or 30:g} s, {recognizer.cpu_threads} threads, "
                             f"hotwords {hotwords})", full, uncorrected, plain))
        ceiling = sum(parser.parse(c.text, date.today()).intent.label == c.intent for c in clips) / len(clips)
        console.print(f"intent accuracy of the NLU on the reference texts themselves: {ceiling:.3f}")
        if show_misses:
            console.print(f"[dim]full pipeline, transcripts with an error on {name}:[/dim]")
            for line in full["all"].misses:
                console.print(f"  [dim]{line}[/dim]")
        for label, scores in (("full", full["all"]), ("no correction", uncorrected["all"]), ("plain", plain["all"])):
            figures[f"{name}/{label}"] = {"cer": scores.cer, "security_acc": scores.security_acc,
                                          "intent_acc": scores.intent_acc, "rtf": scores.rtf}
    return figures
