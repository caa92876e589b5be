"""Spoken campaign words in a soundtrack, offline.

What ships is ``PhoneSpotter``: the project's own phone model (``phones.py``, trained on generated
speech) read by a CTC keyword search for each word's dictionary pronunciations, kept where the voice
activity detector (Silero VAD, ``voice_activity.py``) hears a voice. ``SpeechSpotter`` is the
earlier pocketsphinx keyword spotter (its English model ships in the wheel), kept as a peer for
``benchmarks/audio_words.py``: keyword spotting alone fires on music, noise and silence, so a hit
counts only when

- its confidence (the decoder's segment probability) is at least ``min_confidence``,
- the voice detector gives the frames under the hit a mean speech probability of at least
  ``min_speech_probability``, and
- the phones a phone-loop decode (pocketsphinx ``allphone``) finds under the hit spell the word
  closely enough: at most ``max_phone_distance`` edits per phone of the word's dictionary
  pronunciation, a substitution within a sound class (nasals, front vowels, liquids, stops) costing
  half (``phone_distance``).

Work that cannot change the answer is skipped: nothing is decoded where the voice detector hears no
voice. The thresholds were chosen on development sets of generated clips and checked on a held-out
one (``benchmarks/audio_words.py`` prints precision and recall of each).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from milkmobs.adapters.local.phones import STEP_SECONDS, PhoneModel, keyword_hits, pronunciations
from milkmobs.adapters.local.voice_activity import VoiceActivity, frame_span
from milkmobs.domain import MediaError
from milkmobs.domain.campaign import fold_text

SAMPLE_RATE = 16_000
_FRAMES_PER_SECOND = 100  # pocketsphinx's feature frame rate
_PHONE_SEARCH = "phones"
_FILLERS = frozenset({"SIL", "+SPN+", "+NSN+", "+BREATH+", "+NOISE+", "<s>", "</s>", "<sil>"})


@dataclass(frozen=True)
class SpokenWord:
    """One campaign word heard in speech."""

    word: str
    start_seconds: float
    end_seconds: float
    confidence: float


class WordListener(Protocol):
    """What the local analyzer asks of a speech spotter."""

    def spoken(self, samples: npt.NDArray[np.float32], terms: Sequence[str]) -> list[SpokenWord]:
        """The words of ``terms`` heard in speech in ``samples`` (16 kHz mono), in time order."""
        ...


@dataclass(frozen=True)
class PhoneTuning:
    """The thresholds of ``PhoneSpotter`` (chosen on the development sets of generated clips)."""

    # Log-probability the word's reading may lose to the best free reading, per phone (-4.4 for "milk"):
    # midway between the lowest "milk" (-3.3, but one at -5.8) and the highest other clip (-5.6) of the
    # six development sets, espeak-ng's and flite's.
    min_score_per_phone: float = -1.1
    min_speech_probability: float = 0.5  # mean over the voice detector's frames under the hit


class PhoneSpotter:
    """Campaign words heard by the phone model (``phones.py``): a word is heard where one of its
    dictionary pronunciations reads almost as well as the model's best free reading of the same
    stretch, and the voice detector hears a voice there. Any word of the CMU dictionary can be
    listened for."""

    def __init__(self, tuning: PhoneTuning | None = None, *, model: PhoneModel | None = None) -> None:
        self.tuning = tuning or PhoneTuning()
        self._model = model or PhoneModel()
        self._voice = VoiceActivity()

    def listenable(self, terms: Iterable[str]) -> list[str]:
        """The words of ``terms`` (three letters or more) the dictionary holds ("milkmob" is not an
        English word, so it cannot be heard)."""
        words = {w: None for term in terms for w in _words(term)}
        known = pronunciations(frozenset(words))
        return [w for w in words if w in known]

    def spoken(self, samples: npt.NDArray[np.float32], terms: Sequence[str]) -> list[SpokenWord]:
        words = self.listenable(terms)
        if not words or samples.size < SAMPLE_RATE // 4:
            return []
        voice = self._voice.probabilities(samples)
        if not np.any(voice >= self.tuning.min_speech_probability):
            return []  # no voiced frame: no hit could be kept
        log_probs = self._model.log_probs(samples)
        spellings = pronunciations(frozenset(words))
        heard: list[SpokenWord] = []
        for word in words:
            found: list[SpokenWord] = []
            for phones in spellings[word]:
                for hit in keyword_hits(log_probs, phones, self.tuning.min_score_per_phone * len(phones)):
                    spoken = SpokenWord(
                        word=word,
                        start_seconds=round(hit.start * STEP_SECONDS, 2),
                        end_seconds=round((hit.end + 1) * STEP_SECONDS, 2),
                        confidence=round(float(np.exp(hit.score / len(phones))), 4),
                    )
                    if self._in_speech(spoken, voice):
                        found.append(spoken)
            heard += _best_of_overlapping(found)
        return sorted(heard, key=lambda h: h.start_seconds)

    def _in_speech(self, hit: SpokenWord, voice: npt.NDArray[np.float32]) -> bool:
        under = voice[frame_span(hit.start_seconds, hit.end_seconds)]
        return under.size > 0 and float(under.mean()) >= self.tuning.min_speech_probability


def _words(term: str) -> list[str]:
    cleaned = ("".join(ch for ch in w if ch.isalpha() or ch == "'") for w in term.lower().split())
    return [w for w in cleaned if len(w) >= 3]


def _best_of_overlapping(hits: list[SpokenWord]) -> list[SpokenWord]:
    """One hit per run of overlapping hits (several pronunciations may read the same stretch)."""
    kept: list[SpokenWord] = []
    for hit in sorted(hits, key=lambda h: h.start_seconds):
        if kept and hit.start_seconds < kept[-1].end_seconds:
            kept[-1] = max(kept[-1], hit, key=lambda h: h.confidence)
        else:
            kept.append(hit)
    return kept


@dataclass(frozen=True)
class SpeechTuning:
    """The thresholds of ``SpeechSpotter`` (defaults tuned on the generated labelled set)."""

    kws_threshold: float = 1e-40
    min_confidence: float = 0.0  # a floor did not help once the voice detector gates the hits
    min_speech_probability: float = 0.8  # mean over the voice detector's frames under the hit
    max_phone_distance: float = 0.625  # edits per phone of the word: 2.5 for "milk" (M IH L K)
    phone_margin_seconds: float = 0.1  # phones overlapping the hit this far either side are compared


class SpeechSpotter:
    """Finds campaign words spoken in 16 kHz mono samples (float32 in [-1, 1]) with pocketsphinx (a
    benchmark peer; one decoder per spotter, created on first use, used under a lock)."""

    def __init__(self, tuning: SpeechTuning | None = None) -> None:
        self.tuning = tuning or SpeechTuning()
        self._lock = threading.Lock()
        self._decoder: Any = None
        self._searches: set[str] = set()
        self._voice = VoiceActivity()

    def _ready(self) -> Any:
        if self._decoder is None:
            try:
                from pocketsphinx import Decoder, get_model_path
            except ImportError as exc:
                raise MediaError(f"speech recognition is not available: install milkmobs[media] ({exc})") from exc
            # lm=None: no search at start; the phone loop and one keyword search per word are added below.
            decoder = Decoder(samprate=SAMPLE_RATE, lm=None, kws_threshold=self.tuning.kws_threshold, loglevel="FATAL")
            decoder.add_allphone_file(_PHONE_SEARCH, os.path.join(get_model_path(), "en-us", "en-us-phone.lm.bin"))
            self._decoder = decoder
        return self._decoder

    def listenable(self, terms: Iterable[str]) -> list[str]:
        """The words of ``terms`` the decoder's dictionary holds ("milkmob" is not an English word, so
        it cannot be heard)."""
        with self._lock:
            decoder = self._ready()
            words: dict[str, None] = {}
            for term in terms:
                for word in term.lower().split():
                    word = "".join(ch for ch in word if ch.isalpha() or ch == "'")
                    if len(word) >= 3 and decoder.lookup_word(word) is not None:
                        words[word] = None
            return list(words)

    def spoken(self, samples: npt.NDArray[np.float32], terms: Sequence[str]) -> list[SpokenWord]:
        """The words of ``terms`` heard in speech in ``samples``, in time order."""
        words = self.listenable(terms)
        if not words or samples.size < SAMPLE_RATE // 4:
            return []
        voice = self._voice.probabilities(samples)
        if not np.any(voice >= self.tuning.min_speech_probability):
            return []  # no voiced frame: no hit could be kept (a mean is at most the largest value)
        return sorted(self._keyword_hits(words, samples, voice), key=lambda h: h.start_seconds)

    def _keyword_hits(
        self, words: list[str], samples: npt.NDArray[np.float32], voice: npt.NDArray[np.float32]
    ) -> list[SpokenWord]:
        """Keyword-spotting hits in a voice; the phone loop runs only when one is left to check."""
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        with self._lock:
            decoder = self._ready()
            candidates: list[tuple[SpokenWord, list[str]]] = []
            for word in words:
                spelling = str(decoder.lookup_word(word)).split()
                search = f"kws:{word}"
                if search not in self._searches:
                    decoder.add_keyphrase(search, word)
                    self._searches.add(search)
                for seg in self._run(decoder, search, pcm):
                    hit = SpokenWord(
                        word=word,
                        start_seconds=seg.start_frame / _FRAMES_PER_SECOND,
                        end_seconds=seg.end_frame / _FRAMES_PER_SECOND,
                        confidence=round(float(seg.prob), 4),
                    )
                    if hit.confidence >= self.tuning.min_confidence and self._in_speech(hit, voice):
                        candidates.append((hit, spelling))
            if not candidates:
                return []
            phones = [
                _Phone(seg.word, seg.start_frame, seg.end_frame)
                for seg in self._run(decoder, _PHONE_SEARCH, pcm)
                if seg.word not in _FILLERS
            ]
        return [hit for hit, spelling in candidates if self._spelled(hit, spelling, phones)]

    def _in_speech(self, hit: SpokenWord, voice: npt.NDArray[np.float32]) -> bool:
        """Whether the voice detector hears a voice under ``hit``."""
        under = voice[frame_span(hit.start_seconds, hit.end_seconds)]
        return under.size > 0 and float(under.mean()) >= self.tuning.min_speech_probability

    def _spelled(self, hit: SpokenWord, spelling: list[str], phones: list[_Phone]) -> bool:
        """Whether the phones decoded under ``hit`` are close enough to the word's pronunciation."""
        pad = self.tuning.phone_margin_seconds * _FRAMES_PER_SECOND
        low, high = hit.start_seconds * _FRAMES_PER_SECOND - pad, hit.end_seconds * _FRAMES_PER_SECOND + pad
        heard = [p.phone for p in phones if p.end > low and p.start < high]
        return phone_distance(spelling, heard) <= self.tuning.max_phone_distance * len(spelling)

    @staticmethod
    def _run(decoder: Any, search: str, pcm: bytes) -> list[Any]:
        decoder.activate_search(search)
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        return list(decoder.seg() or [])


@dataclass(frozen=True)
class _Phone:
    phone: str
    start: int  # frames
    end: int


# Phones the acoustic model confuses with one another on synthetic and real voices alike.
_SOUND_CLASSES = (
    frozenset({"M", "N", "NG"}),
    frozenset({"IH", "IY", "EY", "EH", "AE", "Y"}),
    frozenset({"L", "R", "W"}),
    frozenset({"K", "G", "T", "P", "B", "D"}),
)


def _substitution(expected: str, heard: str) -> float:
    if expected == heard:
        return 0.0
    return 0.5 if any(expected in c and heard in c for c in _SOUND_CLASSES) else 1.0


def phone_distance(word: Sequence[str], heard: Sequence[str]) -> float:
    """The fewest edits turning some run of ``heard`` phones into all of ``word``'s (insertions and
    deletions cost 1, a substitution 1 or 0.5 within a sound class): 0 when the word was decoded
    exactly, ``len(word)`` when nothing of it was."""
    previous = [0.0] * (len(heard) + 1)  # the run may start anywhere in ``heard``
    for expected in word:
        current = [previous[0] + 1.0]
        for j, phone in enumerate(heard, start=1):
            current.append(
                min(previous[j - 1] + _substitution(expected, phone), previous[j] + 1.0, current[j - 1] + 1.0)
            )
        previous = current
    return min(previous)  # ... and end anywhere


def listen_terms(product: str, keywords: Sequence[str]) -> list[str]:
    """What to listen for: the product and the one-word keywords (a phrase like "got milk" is heard
    through its product word; listening for "got" alone would hear every "got")."""
    return [product, *(k for k in keywords if len(k.split()) == 1)]


def first_spoken(terms: Sequence[str], heard: Sequence[SpokenWord]) -> str | None:
    """The first of ``terms`` one of whose words was heard (compared folded)."""
    folded = {fold_text(h.word) for h in heard}
    for term in terms:
        if any(fold_text(word) in folded for word in term.split()):
            return term
    return None


_shared: PhoneSpotter | None = None
_shared_lock = threading.Lock()


def shared_spotter() -> PhoneSpotter:
    """The process-wide spotter (its models are loaded once)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PhoneSpotter()
        return _shared
