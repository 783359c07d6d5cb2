"""FAQ index internals: TF-IDF index construction and two-stage scoring (pure, no I/O).

The public API (`FaqIndex`, the match results) and the scoring rationale live in
care.faq.match; this module holds what it is built from: the documents, the per-language index,
its construction, and the ranking of entries for a normalised query.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from care.faq.text import (
    STOP_MARK,
    STOPWORDS,
    ContentTerms,
    Features,
    ScoringParams,
    block_weights,
    content_terms,
    features,
    normalise,
)


@dataclass(frozen=True, slots=True)
class FaqDoc:
    """One FAQ entry in one language: its id and its phrasings (question first)."""

    entry_id: int
    lang: str
    phrasings: tuple[str, ...]
    answer: str = ""  # indexed lexically as one more phrasing (see build_lang)


@dataclass(slots=True)
class LangIndex:
    """TF-IDF index of one language's FAQ.

    Stage 1 scores every entry centroid through an inverted index (common features stored as a
    dense block, rare ones as postings); stage 2 scores the phrasings of a shortlist of entries
    from their sparse rows.
    """

    lang: str
    entry_ids: np.ndarray  # (E,) entry id of each entry slot
    start: np.ndarray  # (E,) first phrasing row of each entry
    n_rows: np.ndarray  # (E,) its number of phrasing rows
    phrasings: list[str]  # (P,) original phrasing text; the answer's is marked "(answer) "
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
    content: list[ContentTerms]  # (E,) content words and their 4-grams of each entry
    unknown_idf: float  # the IDF of a term no entry has

    @property
    def n_entries(self) -> int:
        """Number of entry slots."""
        return len(self.start)


def weigh(
    raw: Features,
    vocabs: list[dict[str, int]],
    idf: list[float],
    block_w: Sequence[float],
    unknown_idf: float = 0.0,
) -> dict[int, float]:
    """Sublinear TF * IDF per block, each block L2-normalised and scaled by its weight.

    With `unknown_idf` (queries), content words and their character n-grams that the FAQ does
    not know still count in the block's length at that IDF: a question about "drop table
    customers" is not a question about "table" alone.
    """
    parts: list[tuple[float, dict[int, float]]] = []
    total = 0.0
    for block, (counts, lookup, w) in enumerate(zip(raw, vocabs, block_w, strict=True)):
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
            elif unknown_idf and block != 1 and term[0] != STOP_MARK and term not in STOPWORDS:
                v = unknown_idf if c == 1 else (1.0 + math.log(c)) * unknown_idf
                sq += v * v
        if sq > 0.0 and part:
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


def build_lang(lang: str, docs: Sequence[FaqDoc], p: ScoringParams) -> LangIndex:
    """Build the TF-IDF index of one language's FAQ documents (entries without words skipped)."""
    block_w = block_weights(lang, p)
    entry_ids: list[int] = []
    start_l: list[int] = []
    row_entry: list[int] = []
    phrasings: list[str] = []
    norms: list[str] = []
    raws: list[Features] = []
    content: list[ContentTerms] = []
    for doc in docs:
        rows = [(ph, normalise(ph)) for ph in doc.phrasings]
        rows = [(ph, n) for ph, n in rows if n]
        if not rows:
            continue
        # The answer is one more phrasing, for the words customers ask with that its
        # question lacks ("do you serve pork" -> "all our meat is halal, no pork"); the
        # semantic index leaves it out (a statement is not a question).
        answer = normalise(doc.answer)
        if answer:
            rows.append((f"(answer) {doc.answer}", answer))
        slot = len(entry_ids)
        entry_ids.append(doc.entry_id)
        start_l.append(len(phrasings))
        parts = [content_terms(n) for _, n in rows]
        content.append(
            ContentTerms(
                frozenset().union(*(c.terms for c in parts)),
                frozenset().union(*(c.grams for c in parts)),
            )
        )
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
    vecs = [weigh(raw, vocabs, idf, block_w) for raw in raws]
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
    return LangIndex(
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
        content=content,
        unknown_idf=math.log(1.0 + n_units) + 1.0,
    )


@dataclass(frozen=True, slots=True)
class Scored:
    """One shortlisted entry: its combined score, best phrasing row and the score's parts."""

    slot: int
    score: float
    row: int  # best phrasing row
    lexical: float
    fuzzy: float


def score_entries(
    li: LangIndex, norm: str, limit: int, p: ScoringParams
) -> tuple[list[Scored], Features, dict[int, float]]:
    """Rank entries: centroid shortlist, then best phrasing, then rapidfuzz re-score.

    Returns the top `limit` scored entries, best first, with the query's raw features and
    weighted vector (kept for the explanation).
    """
    raw = features(norm, li.lang, p)
    qvec = weigh(raw, li.vocabs, li.idf, li.block_w, li.unknown_idf * p.unknown_share)
    if not qvec:
        return [], raw, qvec
    n = len(qvec)
    fids = np.fromiter(qvec.keys(), dtype=np.int64, count=n)
    qw = np.fromiter(qvec.values(), dtype=np.float64, count=n)
    n_e = li.n_entries
    # Stage 1: cosine with every entry centroid.
    cent = centroid_sims(li, fids, qw)
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
    out: list[Scored] = []
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
        out.append(Scored(short_l[i], (1.0 - w_fz) * lexical + w_fz * fzb, best_r, lexical, fzb))
    out.sort(key=lambda c: -c.score)
    return out[:limit], raw, qvec


def centroid_sims(li: LangIndex, fids: np.ndarray, qw: np.ndarray) -> np.ndarray:
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
