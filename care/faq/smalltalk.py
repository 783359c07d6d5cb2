"""Small talk: greetings, thanks and goodbyes get a friendly word, not the FAQ (pure, no I/O).

A whole message that is only "hi", "thanks!", "谢谢" or "bye 👋" is not a question: the FAQ would
find nothing, record it as unanswered and offer to ask the team. Matching is on the text as
care.faq.text.normalise leaves it (the caller normalises once; case, punctuation and emoji do not
matter) against short phrase lists, optionally with a few friendly extras ("hi there", "thanks a
lot", "ok thanks", "谢谢你").
"""

from __future__ import annotations

HELLO = "faq.smalltalk.hello"
THANKS = "faq.smalltalk.thanks"
BYE = "faq.smalltalk.bye"

KEYS = (HELLO, THANKS, BYE)

_PHRASES: dict[str, tuple[str, ...]] = {
    HELLO: (
        "hi", "hii", "hello", "helo", "hallo", "hey", "heya", "hiya", "howdy", "yo",
        "good morning", "good afternoon", "good evening", "morning", "afternoon", "evening",
        "你好", "您好", "嗨", "哈喽", "哈啰", "喂", "早", "早上好", "早安", "上午好", "中午好",
        "下午好", "晚上好", "大家好",
    ),
    THANKS: (
        "thanks", "thank you", "thankyou", "thx", "thanx", "ty", "tysm", "cheers", "ta",
        "many thanks", "thanks a lot", "thanks so much", "thank you so much",
        "thank you very much", "thanks very much", "much appreciated", "appreciate it",
        "great thanks", "perfect thanks", "ok thanks", "ok thank you", "okay thanks",
        "okay thank you", "cool thanks", "nice thanks", "brilliant thanks", "lovely thanks",
        "谢谢", "多谢", "谢了", "感谢", "非常感谢", "太感谢了", "谢谢啦", "谢啦", "好的谢谢",
        "好谢谢", "辛苦了", "麻烦了",
    ),
    BYE: (
        "bye", "bye bye", "byebye", "goodbye", "good bye", "see you", "see ya", "see you later",
        "see you soon", "cya", "good night", "night", "take care", "have a nice day",
        "have a good day", "再见", "拜拜", "拜", "回见", "下次见", "明天见", "晚安",
    ),
}  # fmt: skip

# Words that may come along without changing what the message is ("hi there", "thanks guys",
# "你好呀", "好的，谢谢").
_EN_EXTRAS = frozenset(
    ("there", "all", "guys", "team", "everyone", "folks", "again", "mate", "friend", "you")
)
_ZH_EXTRAS = frozenset("你您啊呀哦哈啦了呢吧嗯好的")

_KEY_OF: dict[str, str] = {phrase: key for key, ps in _PHRASES.items() for phrase in ps}
_ZH_PHRASES = sorted((p for p in _KEY_OF if not p.isascii()), key=len, reverse=True)
_MAX_LENGTH = 40  # longer messages are questions (or at least not only small talk)


def reply_key(norm: str) -> str | None:
    """The reply's catalogue key if the whole (normalised) message is small talk, else None."""
    if not norm or len(norm) > _MAX_LENGTH:
        return None
    key = _KEY_OF.get(norm)
    if key is not None:
        return key
    # A phrase with friendly extra words around it, and nothing else.
    tokens = norm.split(" ")
    for start in range(len(tokens)):
        for end in range(len(tokens), start, -1):
            key = _KEY_OF.get(" ".join(tokens[start:end]))
            others = (*tokens[:start], *tokens[end:])
            if key is not None and all(t in _EN_EXTRAS for t in others):
                return key
    # Chinese has no spaces: a phrase (longest first) plus extra characters, and nothing else.
    squeezed = norm.replace(" ", "")
    for phrase in _ZH_PHRASES:
        if phrase in squeezed and all(ch in _ZH_EXTRAS for ch in squeezed.replace(phrase, "", 1)):
            return _KEY_OF[phrase]
    return None
