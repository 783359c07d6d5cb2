"""FAQ matching: map a free-text customer question to a stored FAQ entry (pure, no I/O).

How it scores (chosen by measurement, see bench/faq_bench.py):
  * text is normalised (NFKC, casefold, punctuation/emoji dropped, whitespace collapsed);
  * English: TF-IDF over light-stemmed words (1.0), word bigrams (0.5) and character 3-4-grams
    within words (1.0), each block L2-normalised; function words get a low weight that fades as
    the FAQ grows. Chinese: TF-IDF over characters and character bigrams (no segmentation);
  * IDF is counted per entry; an entry scores 0.3 x its best phrasing + 0.7 x its centroid (the
    normalised sum of its phrasings), times 100; the top entries are blended 90/10 with
    rapidfuzz token_set_ratio against their best phrasing (typo tolerance);
  * the index is built once; a query scores all centroids (inverted index, common features as a
    dense block), then the phrasings of a shortlist of 12 entries.

Thresholds (defaults of MatchThresholds), picked on CLINC150 *validation* (FAQ = 10 phrasings
per intent, 150 intents; 3,000 in-scope + 100 out-of-scope questions) by a fixed rule: answer
and margin maximise the in-scope questions answered correctly subject to >= 90% of answers being
right and <= 3% of out-of-scope questions answered; suggest is the lowest score at which >= 80%
of out-of-scope questions still get the plain fallback. Result: answer >= 40 with a margin of
>= 10 over the runner-up entry, suggest >= 34. On validation that answers 55.9% of in-scope
questions (91.2% of them correctly) and answers 3% of out-of-scope ones.

The margin does more work than the absolute threshold: most wrong answers are near-ties between
two similar entries. A fixed threshold transfers imperfectly between FAQs: scores depend on the
FAQ's size, how many phrasings each entry has and how its entries overlap (a tiny FAQ has a
flat IDF; a few phrasings per entry give lower scores than ten). Re-check the rates with the
benchmark on your own questions and adjust MatchThresholds if needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from rapidfuzz import fuzz

from care.faq_text import (
    STOP_MARK,
    STOPWORDS,
    Features,
    ScoringParams,
    block_weights,
    detect_language,
    features,
    normalise,
)

__all__ = [
    "Candidate",
    "Decision",
    "FaqDoc",
    "FaqIndex",
    "Match",
    "MatchThresholds",
    "ScoringParams",
    "detect_language",
    "normalise",
]


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FaqDoc:
    """One FAQ entry in one language: its id and its phrasings (question first)."""

    entry_id: int
    lang: str
    phrasings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MatchThresholds:
    """Score cut-offs (0-100) for the answer / suggest / fallback decision."""

    answer: float = 40.0
    suggest: float = 34.0
    margin: float = 10.0
    max_suggestions: int = 3


class Decision(StrEnum):
    """What the bot should do with a query."""

    ANSWER = "answer"
    SUGGEST = "suggest"
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ranked FAQ entry with its score and best-matching phrasing."""

    entry_id: int
    score: float
    phrasing: str
    lang: str


@dataclass(frozen=True, slots=True)
class Match:
    """The outcome of matching one query, with an explanation (`why`).

    The explanation is worked out on first access only: a bot answering a question never
    reads it, and building it costs about a tenth of a match.
    """

    decision: Decision
    query_lang: str
    entry_id: int | None
    score: float
    suggestions: tuple[int, ...]
    candidates: tuple[Candidate, ...]
    explanation: str | Callable[[], str] = field(repr=False, compare=False)
    _why: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def why(self) -> str:
        """Matched phrasing, the terms that carried it, scores, runner-up and margin."""
        if self._why is None:
            text = self.explanation if isinstance(self.explanation, str) else self.explanation()
            object.__setattr__(self, "_why", text)  # a cache, not a change: frozen otherwise
            return text
        return self._why


# --------------------------------------------------------------------------------------------
# Index
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _LangIndex:
    """TF-IDF index of one language's FAQ.

    Stage 1 scores every entry centroid through an inverted index (common features stored as a
    dense block, rare ones as postings); stage 2 scores the phrasings of a shortlist of entries
    from their sparse rows.
    """

    lang: str
    entry_ids: np.ndarray  # (E,) entry id of each entry slot
    start: np.ndarray  # (E,) first phrasing row of each entry
    n_rows: np.ndarray  # (E,) its number of phrasing rows
    phrasings: list[str]  # (P,) original phrasing text
    norms: list[str]  # (P,) normalised phrasing text
    vocabs: list[dict[str, int]]  # per feature block: term -> feature id
    idf: list[float]  # (F,)
    n_dense: int  # features 0..n_dense-1 are in `dense`, the others have postings
    dense: np.ndarray  # (n_dense, E) float32 centroid weights of the common features
    post_ptr: np.ndarray  # (F+1,) centroid postings of each feature
    post_ent: np.ndarray  # entry slot of each posting
    post_vals: np.ndarray  # weight of the feature in that unit centroid
    row_ptr: np.ndarray  # (P+1,) phrasing rows in CSR form
    row_cols: np.ndarray
    row_vals: np.ndarray
    block_w: tuple[float, ...]

    @property
    def n_entries(self) -> int:
        return len(self.start)


def _weigh(
    raw: Features, vocabs: list[dict[str, int]], idf: list[float], block_w: Sequence[float]
) -> dict[int, float]:
    """Sublinear TF * IDF per block, each block L2-normalised and scaled by its weight."""
    parts: list[tuple[float, dict[int, float]]] = []
    total = 0.0
    for counts, lookup, w in zip(raw, vocabs, block_w, strict=True):
        if not w or not counts:
            continue
        part: dict[int, float] = {}
        sq = 0.0
        for term, c in counts.items():
            fid = lookup.get(term)
            if fid is not None:
                v = idf[fid] if c == 1 else (1.0 + math.log(c)) * idf[fid]
                part[fid] = v
                sq += v * v
        if sq > 0.0:
            parts.append((w / math.sqrt(sq), part))
            total += w * w
    vec: dict[int, float] = {}
    if parts:
        scale = 1.0 / math.sqrt(total)  # so that each full vector has unit length
        for f, part in parts:
            f *= scale
            for fid, v in part.items():
                vec[fid] = v * f
    return vec


def _build_lang(lang: str, docs: Sequence[FaqDoc], p: ScoringParams) -> _LangIndex:
    block_w = block_weights(lang, p)
    entry_ids: list[int] = []
    start_l: list[int] = []
    row_entry: list[int] = []
    phrasings: list[str] = []
    norms: list[str] = []
    raws: list[Features] = []
    for doc in docs:
        rows = [(ph, normalise(ph)) for ph in doc.phrasings]
        rows = [(ph, n) for ph, n in rows if n]
        if not rows:
            continue
        slot = len(entry_ids)
        entry_ids.append(doc.entry_id)
        start_l.append(len(phrasings))
        for ph, n in rows:
            row_entry.append(slot)
            phrasings.append(ph)
            norms.append(n)
            raws.append(features(n, lang, p))
    n_p, n_e = len(raws), len(entry_ids)
    # Document frequency, counted per entry (or per phrasing).
    vocabs: list[dict[str, int]] = [{} for _ in block_w]
    df: list[int] = []
    last: list[int] = []
    for r, raw in enumerate(raws):
        unit = row_entry[r] if p.entry_idf else r
        for counts, vocab, w in zip(raw, vocabs, block_w, strict=True):
            if not w:
                continue
            for term in counts:
                fid = vocab.get(term)
                if fid is None:
                    vocab[term] = len(df)
                    df.append(1)
                    last.append(unit)
                elif last[fid] != unit:
                    df[fid] += 1
                    last[fid] = unit
    n_units = n_e if p.entry_idf else n_p
    idf = (np.log((1.0 + n_units) / (1.0 + np.asarray(df, dtype=np.float64))) + 1.0).tolist()
    if lang != "zh":
        # A small FAQ cannot tell from its own IDF that function words carry no meaning, so
        # they get a prior weight that fades out as the FAQ grows.
        sw = p.stop_weight + (1.0 - p.stop_weight) * n_e / (n_e + p.stop_prior)
        for term, fid in vocabs[0].items():
            if term in STOPWORDS:
                idf[fid] *= sw
        for term, fid in vocabs[1].items():
            a, _, b = term.partition(" ")
            if a in STOPWORDS and b in STOPWORDS:
                idf[fid] *= sw
        for term, fid in vocabs[2].items():
            if term[0] == STOP_MARK:
                idf[fid] *= sw
    # Unit phrasing vectors; entry centroid = normalised sum of its phrasing vectors.
    vecs = [_weigh(raw, vocabs, idf, block_w) for raw in raws]
    cents: list[dict[int, float]] = [{} for _ in range(n_e)]
    for r, vec in enumerate(vecs):
        c = cents[row_entry[r]]
        for fid, v in vec.items():
            c[fid] = c.get(fid, 0.0) + v
    for c in cents:
        inv = 1.0 / (math.sqrt(sum(x * x for x in c.values())) or 1.0)
        for fid in c:
            c[fid] *= inv
    # Renumber the features so that the common ones (long centroid postings) come first and
    # are stored as a dense block: gathering a few contiguous rows beats thousands of postings.
    n_f = len(df)
    c_cols = np.fromiter((f for c in cents for f in c), dtype=np.int64)
    c_ents = np.repeat(np.arange(n_e, dtype=np.int32), [len(c) for c in cents])
    c_vals = np.fromiter((v for c in cents for v in c.values()), dtype=np.float32)
    common = np.bincount(c_cols, minlength=n_f) > max(p.dense_share * n_e, 32)
    n_dense = int(common.sum())
    new_id = np.empty(n_f, dtype=np.int64)
    new_id[common] = np.arange(n_dense)
    new_id[~common] = np.arange(n_dense, n_f)
    new_l = new_id.tolist()
    vocabs = [{t: new_l[f] for t, f in v.items()} for v in vocabs]
    idf_new = [0.0] * n_f
    for old, new in enumerate(new_l):
        idf_new[new] = idf[old]
    c_cols = new_id[c_cols]
    dense = np.zeros((n_dense, n_e), dtype=np.float32)
    is_dense = c_cols < n_dense
    dense[c_cols[is_dense], c_ents[is_dense]] = c_vals[is_dense]
    c_cols, c_ents, c_vals = c_cols[~is_dense], c_ents[~is_dense], c_vals[~is_dense]
    order = np.argsort(c_cols, kind="stable")
    post_ptr = np.zeros(n_f + 1, dtype=np.int64)
    np.cumsum(np.bincount(c_cols, minlength=n_f), out=post_ptr[1:])
    row_ptr = np.zeros(n_p + 1, dtype=np.int64)
    np.cumsum([len(v) for v in vecs], out=row_ptr[1:])
    row_cols = np.fromiter((new_l[f] for v in vecs for f in v), dtype=np.int64)
    row_vals = np.fromiter((x for v in vecs for x in v.values()), dtype=np.float32)
    return _LangIndex(
        lang=lang,
        entry_ids=np.asarray(entry_ids, dtype=np.int64),
        start=np.asarray(start_l, dtype=np.int64),
        n_rows=np.diff(np.asarray([*start_l, n_p], dtype=np.int64)),
        phrasings=phrasings,
        norms=norms,
        vocabs=vocabs,
        idf=idf_new,
        n_dense=n_dense,
        dense=dense,
        post_ptr=post_ptr,
        post_ent=c_ents[order],
        post_vals=c_vals[order],
        row_ptr=row_ptr,
        row_cols=row_cols,
        row_vals=row_vals,
        block_w=block_w,
    )


@dataclass(frozen=True, slots=True)
class _Scored:
    slot: int
    score: float
    row: int  # best phrasing row
    lexical: float
    fuzzy: float


class FaqIndex:
    """Immutable matcher over FAQ entries of both languages; rebuild when the FAQ changes."""

    __slots__ = ("_langs", "_n_entries", "_params")

    def __init__(self, langs: dict[str, _LangIndex], n_entries: int, params: ScoringParams):
        self._langs = langs
        self._n_entries = n_entries
        self._params = params

    @classmethod
    def build(cls, docs: Iterable[FaqDoc], params: ScoringParams | None = None) -> FaqIndex:
        """Build the index once from all FAQ documents (any mix of "en" and "zh")."""
        p = params or ScoringParams()
        by_lang: dict[str, list[FaqDoc]] = {}
        for d in docs:
            lang = "zh" if d.lang.lower().startswith("zh") else "en"
            by_lang.setdefault(lang, []).append(d)
        langs = {lang: _build_lang(lang, ds, p) for lang, ds in by_lang.items()}
        langs = {k: v for k, v in langs.items() if len(v.entry_ids)}
        ids = {int(e) for li in langs.values() for e in li.entry_ids.tolist()}
        return cls(langs, len(ids), p)

    def __len__(self) -> int:
        """Number of distinct entry ids in the index."""
        return self._n_entries

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages that have at least one entry."""
        return tuple(sorted(self._langs))

    # ---------------------------------------------------------------------------------------

    def _pick_lang(self, query_lang: str) -> _LangIndex | None:
        li = self._langs.get(query_lang)
        if li is None:
            li = next(iter(self._langs.values()), None)
        return li

    def _score(
        self, li: _LangIndex, norm: str, limit: int
    ) -> tuple[list[_Scored], Features, dict[int, float]]:
        """Rank entries: centroid shortlist, then best phrasing, then rapidfuzz re-score."""
        p = self._params
        raw = features(norm, li.lang, p)
        qvec = _weigh(raw, li.vocabs, li.idf, li.block_w)
        if not qvec:
            return [], raw, qvec
        n = len(qvec)
        fids = np.fromiter(qvec.keys(), dtype=np.int64, count=n)
        qw = np.fromiter(qvec.values(), dtype=np.float64, count=n)
        n_e = li.n_entries
        # Stage 1: cosine with every entry centroid.
        cent = _centroid_sims(li, fids, qw)
        k1 = min(n_e, max(p.shortlist, limit))
        short = np.argpartition(-cent, k1 - 1)[:k1] if k1 < n_e else np.arange(n_e)
        # Stage 2: cosine with each phrasing of the shortlisted entries (their rows, in order).
        seg = li.n_rows[short]
        first = np.cumsum(seg) - seg  # where each entry's rows start in `rows`
        rows = np.arange(int(first[-1] + seg[-1])) + np.repeat(li.start[short] - first, seg)
        qd = np.zeros(len(li.idf))
        qd[fids] = qw
        rp = li.row_ptr
        lens = rp[rows + 1] - rp[rows]
        cum = np.cumsum(lens)
        offs = np.arange(int(cum[-1])) + np.repeat(rp[rows] - cum + lens, lens)
        phr = np.bincount(
            np.repeat(np.arange(len(rows)), lens),
            weights=li.row_vals[offs] * qd[li.row_cols[offs]],
            minlength=len(rows),
        )
        best_phr = np.maximum.reduceat(phr, first)
        lex = p.w_max * best_phr + (1.0 - p.w_max) * cent[short]
        k = min(k1, max(limit, p.rerank))
        top = np.argpartition(-lex, k - 1)[:k] if k < k1 else np.arange(k1)
        out: list[_Scored] = []
        w_fz = p.w_fuzz
        # Python lists from here: a few scalars each, cheaper than indexing numpy arrays.
        short_l, first_l, seg_l, rows_l = (
            short.tolist(),
            first.tolist(),
            seg.tolist(),
            rows.tolist(),
        )
        phr_l, lex_l = phr.tolist(), lex.tolist()
        for i in top.tolist():
            f = first_l[i]
            best_r = rows_l[max(range(f, f + seg_l[i]), key=phr_l.__getitem__)]  # first best
            lexical = lex_l[i] * 100.0
            fzb = float(fuzz.token_set_ratio(norm, li.norms[best_r])) if w_fz else 0.0
            out.append(
                _Scored(short_l[i], (1.0 - w_fz) * lexical + w_fz * fzb, best_r, lexical, fzb)
            )
        out.sort(key=lambda c: -c.score)
        return out[:limit], raw, qvec

    def rank(self, query: str, lang: str, limit: int = 5) -> list[Candidate]:
        """Top `limit` entries for the query among entries of `lang` (or the other language)."""
        norm = normalise(query)
        li = self._pick_lang(lang)
        if li is None or not norm or limit <= 0:
            return []
        scored, _, _ = self._score(li, norm, limit)
        return [
            Candidate(int(li.entry_ids[s.slot]), round(s.score, 2), li.phrasings[s.row], li.lang)
            for s in scored
        ]

    def match(
        self,
        query: str,
        customer_lang: str,
        thresholds: MatchThresholds = MatchThresholds(),
    ) -> Match:
        """Decide answer / suggest / fallback for a query and explain why."""
        norm = normalise(query)
        qlang = detect_language(
            norm, default=customer_lang if customer_lang in ("en", "zh") else "en"
        )
        li, p = self._pick_lang(qlang), self._params
        if li is None or not norm:
            why = "empty index" if li is None else "query has no words after normalisation"
            return Match(Decision.FALLBACK, qlang, None, 0.0, (), (), why)
        scored, raw, qvec = self._score(li, norm, max(thresholds.max_suggestions, 5))
        cands = tuple(
            Candidate(int(li.entry_ids[s.slot]), round(s.score, 2), li.phrasings[s.row], li.lang)
            for s in scored
        )
        via = "" if li.lang == qlang else f"no {qlang} entries, searched {li.lang}; "
        if not scored:
            why = f"fallback: {via}no term of the query occurs in the FAQ"
            return Match(Decision.FALLBACK, qlang, None, 0.0, (), (), why)
        best = scored[0]
        second = scored[1].score if len(scored) > 1 else 0.0
        gap = best.score - second
        if best.score >= thresholds.answer and gap >= thresholds.margin:
            decision = Decision.ANSWER
        elif best.score >= thresholds.suggest and thresholds.max_suggestions > 0:
            decision = Decision.SUGGEST
        else:
            decision = Decision.FALLBACK
        sugg: tuple[int, ...] = ()
        if decision is Decision.SUGGEST:
            ok = [c.entry_id for c in cands if c.score >= thresholds.suggest]
            sugg = tuple(ok[: thresholds.max_suggestions])
        return Match(
            decision,
            qlang,
            cands[0].entry_id if decision is Decision.ANSWER else None,
            round(best.score, 2),
            sugg,
            cands,
            lambda: _explain(
                li, raw, qvec, best, second, cands, decision, qlang, via, thresholds, p
            ),
        )


def _explain(
    li: _LangIndex,
    raw: Features,
    qvec: dict[int, float],
    best: _Scored,
    second: float,
    cands: tuple[Candidate, ...],
    decision: Decision,
    qlang: str,
    via: str,
    thresholds: MatchThresholds,
    p: ScoringParams,
) -> str:
    """The `why` of a match (built only when someone reads it)."""
    terms = _carrying_terms(li, raw, qvec, best.row, p)
    return (
        f"{decision.value}: {via}query ({qlang}) best matches entry {cands[0].entry_id} "
        f"({li.lang}) via phrasing {li.phrasings[best.row]!r}; "
        f"score {best.score:.1f} (lexical {best.lexical:.1f}, fuzzy {best.fuzzy:.1f}); "
        f"runner-up {second:.1f}, margin {best.score - second:.1f}; "
        f"terms: {', '.join(terms) or '-'}; "
        f"thresholds answer {thresholds.answer:g} / suggest {thresholds.suggest:g} / "
        f"margin {thresholds.margin:g}; top: "
        + ", ".join(f"#{c.entry_id}={c.score:.1f}" for c in cands)
    )


def _centroid_sims(li: _LangIndex, fids: np.ndarray, qw: np.ndarray) -> np.ndarray:
    """Cosine of the query vector (feature ids, weights) with every entry centroid."""
    is_dense = fids < li.n_dense
    if is_dense.any():
        # einsum, not BLAS: a threaded BLAS wakes its threads on every call (slow here).
        sims = np.einsum(
            "i,ij->j", qw[is_dense].astype(np.float32), li.dense[fids[is_dense]]
        ).astype(np.float64)
    else:
        sims = np.zeros(li.n_entries)
    s_ids = fids[~is_dense]
    if s_ids.size:
        starts = li.post_ptr[s_ids]
        lens = li.post_ptr[s_ids + 1] - starts
        ends = np.cumsum(lens)
        if ends[-1]:
            offs = np.arange(int(ends[-1])) + np.repeat(starts - ends + lens, lens)
            sims += np.bincount(
                li.post_ent[offs],
                weights=li.post_vals[offs] * np.repeat(qw[~is_dense], lens),
                minlength=li.n_entries,
            )
    return sims


def _carrying_terms(
    li: _LangIndex, qraw: Features, qv: dict[int, float], row: int, p: ScoringParams
) -> list[str]:
    """Word-level terms shared by the query and the phrasing, largest contribution first."""
    praw = features(li.norms[row], li.lang, p, chars=False)
    pv = _weigh(praw, li.vocabs, li.idf, li.block_w)
    contrib: list[tuple[float, str]] = []
    for b in (0, 1):  # words and word bigrams (zh: characters and character bigrams)
        for term in qraw[b].keys() & praw[b].keys():
            fid = li.vocabs[b].get(term)
            if fid is None:
                continue
            if li.lang != "zh" and all(w in STOPWORDS for w in term.split(" ")):
                continue  # function words (and pairs of them) explain nothing
            contrib.append((qv.get(fid, 0.0) * pv.get(fid, 0.0), term.replace("\x1f", "")))
    contrib.sort(key=lambda t: (-t[0], t[1]))
    return [t for _, t in contrib[:4]]
