"""FAQ text handling: normalisation, language detection and the features the matcher weighs."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class ScoringParams:
    """Internal scoring knobs (defaults chosen by measurement; see bench/faq_bench.py)."""

    w_word: float = 1.0
    w_bigram: float = 0.5
    w_char: float = 1.0
    char_min: int = 3
    char_max: int = 4
    zh_w_uni: float = 1.0
    zh_w_bi: float = 1.0
    w_max: float = 0.3  # entry score = w_max * best phrasing + (1 - w_max) * centroid
    w_fuzz: float = 0.1  # final = (1 - w_fuzz) * lexical + w_fuzz * rapidfuzz token_set_ratio
    shortlist: int = 12  # entries (by centroid similarity) whose phrasings are scored
    rerank: int = 10  # entries re-scored with rapidfuzz (on their best phrasing)
    stop_weight: float = 0.1  # IDF multiplier of English function words (and their bigrams) ...
    stop_prior: float = 20.0  # ... in a tiny FAQ; it tends to 1 as entries >> stop_prior
    entry_idf: bool = True  # document frequency counted per entry, not per phrasing
    unknown_share: float = 1.0  # query words the FAQ lacks count at this share of max IDF
    dense_share: float = 0.2  # features in more than this share of centroids are stored dense


# --------------------------------------------------------------------------------------------
# Normalisation and language detection
# --------------------------------------------------------------------------------------------

_APOSTROPHES = dict.fromkeys(map(ord, "'\u2019\u2018`\u00b4"), None)
_WS = re.compile(r"\s+")


# Characters tokenised one by one (Chinese has no spaces between words). Kana is treated like
# CJK. Keep `is_cjk` and `_CJK_CLASS` in step.
_CJK_CLASS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df"
_NOT_ASCII_ALNUM = re.compile(r"[^a-z0-9]+")


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x20000 <= o <= 0x2A6DF
        or 0xF900 <= o <= 0xFAFF
        or 0x3040 <= o <= 0x30FF  # kana: treated like CJK (character level)
    )


def normalise(text: str) -> str:
    """NFKC, casefold, drop punctuation/symbols/emoji, collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    if text.isascii():
        # Fast path, same result: in ASCII only a-z and 0-9 are letters or numbers.
        return _NOT_ASCII_ALNUM.sub(" ", text).strip()
    out: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in "LN" or cat == "Mn" and out and out[-1] != " ":
            out.append(ch)
        else:  # punctuation, symbols (emoji), separators, controls, format chars
            out.append(" ")
    return _WS.sub(" ", "".join(out)).strip()


def detect_language(text: str, default: str = "en") -> str:
    """Return "zh" when most letters of the text are CJK, "en" when Latin, else default."""
    if text.isascii():  # fast path (most English questions): no CJK at all
        return "en" if any(map(str.isalpha, text)) else default
    cjk = other = 0
    for ch in text:
        if is_cjk(ch):
            cjk += 1
        elif ch.isalpha():
            other += 1
    if cjk == 0 and other == 0:
        return default
    # A CJK character carries about as much as a short word: weigh Latin letters by 1/3.
    return "zh" if cjk * 3 >= other else "en"


# --------------------------------------------------------------------------------------------
# Tokenisation and features
# --------------------------------------------------------------------------------------------

# One CJK character, or a run of other letters and digits (CJK excluded, so "wifi密码" is
# "wifi", "密", "码": Latin words inside Chinese text are words of their own).
_TOKEN = re.compile(f"[{_CJK_CLASS}]|[^\\W_{_CJK_CLASS}]+")

# Small hand-made synonym / chat-speak list, applied to normalised words before stemming.
_SYNONYMS: dict[str, str] = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "wat": "what",
    "wen": "when",
    "wot": "what",
    "whats": "what is",
    "hows": "how is",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "hrs": "hours",
    "hr": "hour",
    "pw": "password",
    "pwd": "password",
    "passcode": "password",
    "wifi": "wifi",
    "wi": "wifi",
    "fi": "",
    "acct": "account",
    "acc": "account",
    "txn": "transaction",
    "info": "information",
    "cant": "can not",
    "cannot": "can not",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "wont": "will not",
    "im": "i am",
    "ive": "i have",
    "wheres": "where is",
    "whens": "when is",
    "whos": "who is",
    "theres": "there is",
    "thats": "that is",
    "youre": "you are",
    "arent": "are not",
    "wasnt": "was not",
    "havent": "have not",
    "hasnt": "has not",
    "couldnt": "could not",
    "wouldnt": "would not",
    "ppl": "people",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmw": "tomorrow",
    "tonite": "tonight",
    "abt": "about",
    "cuz": "because",
    "coz": "because",
    "bc": "because",
    # everyday words the encoder does not bring close to the FAQ's own ("loo" / "toilet" is
    # below the content-meaning cut-off; "do u take visa" is about cards)
    "loo": "toilet",
    "wc": "toilet",
    "internet": "wifi",
    "visa": "card",
    "mastercard": "card",
    "amex": "card",
    "open": "opening",
    "opens": "opening",
    "close": "closing",
    "closes": "closing",
}

# Function words: they match everywhere, so they weigh little (`stop_weight`) in the word
# blocks and give no character n-grams. Question words (how, when, where, why) are kept.
STOPWORDS = frozenset(
    """a an the is are am be been was were do does did doe of to in on at for by with and or
    i me my we our you your it its this that there please can could would will should what
    about any some have has had get just tell know want need like so if from up""".split()  # noqa: SIM905
)


# Words and characters that never carry a match on their own (issue 11, part 3): an entry is
# answered or suggested only if a word or character of the question outside these lists matched
# it. Measured on the café set (bench/faq_bench.py --function-words): every word below occurs in
# questions about five or more different entries (or out of scope) of bench/data, or is a
# question word other than how, when, where and why (keeping those answers 1.5 points more
# café questions right, none wrong), a generic verb of asking or selling ("do you sell beer"
# must not match "do you sell coffee beans") or a place adverb ("is there a gym nearby" must not
# match parking).
FUNCTION_WORDS = STOPWORDS | frozenset(
    """who which whose whom much many here nearby near around inside
    am isnt not no yes ok okay hi hello hey guys pls thanks thank sell sold serve served offer
    buy get got take bring use make give go come let see find put also still really one""".split()  # noqa: SIM905
)
# Chinese function characters: particles, pronouns, "have / can / want / which / what / how
# many", "near" — each in questions about five or more café entries (measured as above).
FUNCTION_CHARS = frozenset(
    "吗呢吧啊呀嘛了的地得有没可以能会要想在是不我你他她它们这那哪里些个一什么怎样几多少请问到人卖买附近给还也就都很"
)
CONTENT_GRAM = 4  # character n-gram length that lets a misspelt content word match
CONTENT_GRAM_MIN = 2  # ... when at least this many of its n-grams match


@dataclass(frozen=True, slots=True)
class ContentTerms:
    """The content of a text: light stems and CJK characters outside the function lists, and
    the character 4-grams of its Latin content words (for typos)."""

    terms: frozenset[str]
    grams: frozenset[str]


def is_function(token: str) -> bool:
    """Whether a token (a word, or one CJK character) carries no topic on its own."""
    if len(token) == 1 and is_cjk(token):
        return token in FUNCTION_CHARS
    return token in FUNCTION_WORDS or stem(token) in FUNCTION_WORDS or token.isdigit()


def content_terms(norm: str) -> ContentTerms:
    """Content words/characters of normalised text and the 4-grams of its content words."""
    terms: set[str] = set()
    grams: set[str] = set()
    for tok in words(norm):
        if is_function(tok):
            continue
        if len(tok) == 1 and is_cjk(tok):
            terms.add(tok)
            continue
        terms.add(stem(tok))
        grams.update(_char_grams(tok, CONTENT_GRAM, CONTENT_GRAM))
    return ContentTerms(frozenset(terms), frozenset(grams))


QueryContent = tuple[tuple[str, str, tuple[str, ...]], ...]


def query_content(norm: str) -> QueryContent:
    """The content tokens of a normalised question, once per question: (token, its stem or
    CJK character, its character 4-grams; none for CJK)."""
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for tok in dict.fromkeys(words(norm)):
        if is_function(tok):
            continue
        if len(tok) == 1 and is_cjk(tok):
            out.append((tok, tok, ()))
        else:
            out.append((tok, stem(tok), _char_grams(tok, CONTENT_GRAM, CONTENT_GRAM)))
    return tuple(out)


def content_text(norm: str) -> str:
    """The content words of normalised text, in order, as text to encode ("" when none):
    "do you have a bathroom" -> "bathroom"; "有没有厕所" -> "厕所"."""
    out: list[str] = []
    for tok in words(norm):
        if is_function(tok):
            continue
        if out and is_cjk(tok[0]) and is_cjk(out[-1][-1]):
            out[-1] += tok
        else:
            out.append(tok)
    return " ".join(out)


def shared_content(query: QueryContent, entry: ContentTerms) -> list[str]:
    """The question's content words/characters that the entry has (misspelt ones marked '~')."""
    out: list[str] = []
    terms, grams = entry.terms, entry.grams
    for tok, term, tok_grams in query:
        if term in terms:
            out.append(tok)
        elif tok_grams and sum(g in grams for g in tok_grams) >= CONTENT_GRAM_MIN:
            out.append(tok + "~")
    return out


def stem(word: str) -> str:
    """Very light English stemmer: strip plural s, -ing, -ed."""
    n = len(word)
    if n <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and n > 4:
        return word[:-3] + "y"
    if word.endswith("ing") and n > 5:
        w = word[:-3]
        return w[:-1] if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "ls" else w
    if word.endswith("ed") and n > 4:
        w = word[:-2]
        return w[:-1] if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "ls" else w
    if word.endswith("es") and n > 4 and word[-3] in "sxz":
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(norm: str) -> list[str]:
    """Split normalised text into words (Latin/digit runs) and single CJK characters."""
    out: list[str] = []
    for tok in _TOKEN.findall(norm):
        syn = _SYNONYMS.get(tok)
        if syn is None:
            out.append(tok)
        elif syn:
            out.extend(syn.split())
    return out


# SQL statements and markup: probes, pasted code or a bot, not a customer's question. The words
# in them are real ("drop table" shares "table" with bookings), so the matcher alone would answer.
_CODE = re.compile(
    r"""\b(?:drop|alter|truncate)\s+(?:table|database|schema)\b
    |\b(?:delete\s+from|insert\s+into|union\s+(?:all\s+)?select|select\s+\*\s+from)\b
    |\bupdate\s+\w+\s+set\s+\w+\s*=
    |'\s*(?:or|and)\s+'?\w+'?\s*=\s*'?\w+
    |;\s*--|/\*.*\*/
    |<\s*/?\s*(?:script|iframe|img|svg|object|embed|style|a|div)\b[^>]*>
    |\bjavascript\s*:|\$\{|\{\{.*\}\}""",
    re.IGNORECASE | re.VERBOSE,
)


def looks_like_code(text: str) -> bool:
    """Whether the raw text reads as SQL or markup rather than a question: "'; DROP TABLE
    customers; --", "<script>alert(1)</script>" (not "can I select a drink from the menu")."""
    return _CODE.search(text) is not None


Features = list[Counter[str]]


STOP_MARK = "~"  # prefix of the character n-grams of function words (kept apart)


@lru_cache(maxsize=1 << 16)
def _char_grams(word: str, lo: int, hi: int) -> tuple[str, ...]:
    """Character n-grams of one word padded with spaces (like scikit-learn's char_wb)."""
    s = f" {word} "
    n = len(s)
    return tuple(s[i : i + k] for k in range(lo, hi + 1) for i in range(n - k + 1))


def features(norm: str, lang: str, p: ScoringParams, chars: bool = True) -> Features:
    """Raw term counts per feature block: en (words, word bigrams, char n-grams), zh (chars,
    char bigrams, unused)."""
    toks = words(norm)
    if lang == "zh":
        uni = Counter(t if len(t) == 1 else stem(t) for t in toks)
        bi = Counter(a + "\x1f" + b for a, b in zip(toks, toks[1:], strict=False))
        return [uni, bi, Counter()]
    stems = [t if t in STOPWORDS else stem(t) for t in toks]
    word = Counter(stems)
    bigram = Counter(a + " " + b for a, b in zip(stems, stems[1:], strict=False))
    grams: Counter[str] = Counter()
    if chars:
        lo, hi = p.char_min, p.char_max
        for t in toks:
            if t in STOPWORDS:  # their own features, weighted like the function words
                grams.update(STOP_MARK + g for g in _char_grams(t, lo, hi))
            else:
                grams.update(_char_grams(t, lo, hi))
    return [word, bigram, grams]


def block_weights(lang: str, p: ScoringParams) -> tuple[float, ...]:
    if lang == "zh":
        return (p.zh_w_uni, p.zh_w_bi, 0.0)
    return (p.w_word, p.w_bigram, p.w_char)
