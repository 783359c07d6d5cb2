"""Complaint detection: does free text read like a complaint? (English and Chinese wording)

Measured on hand-written complaints about a café (food, drinks, service, waiting, billing,
orders, delivery, cleanliness, loyalty; bench/data/complaints*.txt) against every question of the
café FAQ sets, which must not match (`bench/complaint_bench.py`). A complaint mostly says what was
wrong, so the wording is grouped by what went wrong rather than listed sentence by sentence.
"""

from __future__ import annotations

import re

_BE = (
    r"(?:was|were|is|are|am|arrived|came|tasted|tastes|smelt|smelled|smells|looked|felt|got|"
    r"went|gone|turned|been)"
)
_DEGREE = (
    r"(?:\s+(?:so|too|very|really|totally|completely|all|way\s+too|a\s+bit|kind\s+of|super|"
    r"absolutely|stone|rock|ice))*"
)
# What food, drink or a place should not be: after "was / tasted / arrived ..." ("the milk was
# sour"; "cold" alone would catch "cold brew", "dry" alone "dry cappuccino").
_BAD_STATE = (
    r"(?:sour|off|bad|rotten|stale|burnt|burned|raw|undercooked|uncooked|overcooked|soggy|"
    r"mouldy|moldy|curdled|rancid|spoiled|spoilt|expired|cold|freezing|lukewarm|dry|hard|"
    r"watery|weak|tasteless|bland|bitter|salty|greasy|inedible|disgusting|revolting|filthy|dirty|"
    r"sticky|smelly|wrong|broken|missing|late|slow|rude|loud|noisy|tiny|overpriced|wet|slippery|"
    r"closed|unhelpful|unprofessional|unfriendly|impolite|terrible|awful|horrible|"
    r"cracked|leaking|leaky|melted|squashed|crushed|a\s+mess|not\s+fresh|not\s+hot|not\s+cooked)"
)
_THING = (
    r"(?:hair|hairs|fly|flies|bug|bugs|insect|insects|cockroach|cockroaches|wasp|worm|worms|"
    r"glass|plastic|plaster|metal|stone|mould|mold)"
)
_COMPLAINT_EN = re.compile(
    "|".join(
        (
            # money
            r"\b(?:refund(?:s|ed)?|money\s+back|overcharged|double\s+charged|"
            r"charged\s+(?:me\s+)?(?:twice|two\s+times|double|wrong|for)|"
            r"(?:took|taken)\s+(?:the\s+)?payment\s+twice|paid\s+twice|charged\s+but)\b",
            r"\b(?:bill|receipt|price|change|total)\s+(?:was|is|were)\s+(?:wrong|incorrect|off)\b",
            r"\b(?:items?|things?)\s+(?:we|i)\s+(?:never|didn\W?t|did\s+not)\s+order",
            # the state of what was served (or of the place)
            rf"\b{_BE}{_DEGREE}\s+{_BAD_STATE}\b",
            r"\b(?:broken|broke|damaged|missing|stale|undercooked|mouldy|moldy|curdled|filthy|"
            r"disgusting|revolting|inedible|spilled|spilt|spill|leaked|dishwater)\b",
            rf"\b(?:an?|some|the|found|there\s+(?:was|is|were)\s+(?:an?|some))\s+{_THING}\s+"
            r"(?:in|on)\s+(?:my|the|our|his|her)\b",
            rf"\b{_THING}\s+(?:in|on)\s+(?:my|our)\b|"
            rf"\bhad\s+(?:an?\s+|some\s+)?{_THING}\s+(?:in|on)\b",
            r"\b(?:made|make|making)\s+(?:me|us|my\s+\w+)\s+(?:sick|ill|throw\s+up|vomit)|"
            r"\bfood\s+poisoning\b|\b(?:felt|feel|got|was|been)\s+(?:really\s+|so\s+|very\s+)?"
            r"(?:sick|ill)\s+after\b|\bstomach\s+(?:ache|pain|upset)|\bdiarrh?o?ea\b",
            r"\bpast\s+(?:its|the)\s+(?:expiry|use\s+by|best\s+before|sell\s+by)",
            r"\b(?:gone|went|turned)\s+off\b|\btasted\s+(?:off|funny|weird|strange|like)\b",
            # waiting and orders
            r"\b(?:waited|wait(?:ing)?\s+(?:forever|ages|for\s+ages|so\s+long|too\s+long)|"
            r"(?:still|been)\s+waiting|had\s+to\s+wait|still\s+(?:nothing|no\s+sign|not\s+here|"
            r"hasn\W?t|haven\W?t))\b",
            r"\b(?:never|didn\W?t|did\s+not|hasn\W?t|has\s+not|still\s+not)\s+"
            r"(?:arrive|arrived|came|come|get|got|received?|shown?\s+up|turned?\s+up|replied|"
            r"answer(?:ed)?|call(?:ed)?\s+back|added|credited)\b",
            r"\bwrong\s+(?:order|item|drink|dish|size|change|milk|food|coffee|cake|table)\b",
            r"\b(?:someone|somebody)\s+else\W?s\s+order\b|"
            r"\b(?:you|they|staff|he|she|someone|somebody)\s+forgot\b|"
            r"\bforgot\s+to\s+(?:put|add|give|include|bring|charge|make|tell|send)\b",
            r"\b(?:\d+|an?|one|two|half\s+an?)\s+(?:minutes?|mins?|hours?|hrs?)\s+late\b|"
            r"\bburn(?:ed|t)\s+(?:my|me|our)\b",
            r"\b(?:asked|ordered)\s+(?:for\s+)?(?:an?\s+)?[\w\s]{1,30}?(?:,\s*|\s+)"
            r"(?:and\s+|but\s+)?(?:got|received|was\s+given|they\s+gave|you\s+gave)\b",
            r"\bmade\s+with\s+(?:normal|regular|cow\W?s|dairy|full\s+fat)\b",
            r"\b(?:nobody|no\s+one|noone|none\s+of\s+the\s+staff)\s+(?:came|cleaned|answered|"
            r"picked|helped|served|replied|took|called|listened|cared)\b",
            r"\b(?:lost|cancelled|canceled)\s+(?:my|our)\s+(?:reservation|booking|order)\b|"
            r"\b(?:my|our)\s+(?:reservation|booking|order)\s+(?:was|got)\s+"
            r"(?:lost|cancelled|canceled|ignored)\b",
            # people
            r"\b(?:rude(?:ly|ness)?|ignored|unhelpful|unprofessional|impolite|disrespectful|"
            r"arguing|shouted|yelled|made\s+fun|laughed\s+at|blamed\s+me)\b",
            # loyalty, codes and discounts
            r"\b(?:points?|stamps?|rewards?)\s+(?:were|was|are|is|have|has|got)\s+"
            r"(?:not|never|gone|vanished|disappeared|missing|wrong|reset|wiped)\b|"
            r"\b(?:stamps?|points?)\s+(?:vanished|disappeared)\b|"
            r"\b(?:code|voucher|coupon|discount|card|app|website|wifi|machine)\s+"
            r"(?:didn\W?t|did\s+not|doesn\W?t|does\s+not|won\W?t|wont|wouldn\W?t|never)\s+"
            r"(?:work|show|load|open|scan|accept)|"
            r"\bwas\s+refused\b|\brefused\s+(?:me|my|the|to)\b|\bdeclined\s+my\b",
            # how the customer feels about it
            r"\b(?:disappointed|disappointing|unacceptable|not\s+acceptable|terrible|awful|"
            r"horrible|worst|appalling|shameful|ridiculous|outrageous|disgraceful|furious|angry|"
            r"upset|unhappy|not\s+happy|not\s+(?:good\s+)?enough|bad\s+(?:service|experience)|"
            r"never\s+(?:coming|going)\s+back|won\W?t\s+(?:be\s+)?(?:coming|going)\s+back|"
            r"complain(?:t|ts|ed|ing)?|(?:speak|talk)\s+to\s+(?:the|a|your)\s+manager|"
            r"(?:was|were)\s+dirty|dirty\s+(?:cups?|tables?|floor))\b",
        )
    ),
    re.IGNORECASE,
)
_COMPLAINT_ZH = (
    "投诉", "退款", "退钱", "太差", "差评", "很差", "真差", "难吃", "难喝", "态度差", "态度不好",
    "坏了", "破了", "冷了", "凉了", "是冷的", "是凉的", "是温的", "等了", "等太久", "太慢", "送错",
    "弄错", "做错", "错了", "给错", "上错", "没收到", "还没到", "一直没到", "没送到", "失望",
    "恶心", "太脏", "很脏", "垃圾", "多收", "扣了两次", "重复扣", "收了两次", "账单不对", "酸了",
    "是酸的", "变质", "过期", "发霉", "不新鲜", "馊", "头发", "苍蝇", "虫子", "蟑螂", "送晚",
    "晚了一", "没有到账", "拉肚子", "肚子疼", "吃坏", "不理人", "不理我", "很凶", "不耐烦",
    "不礼貌", "少了", "漏了", "洒了", "撒了", "没到账", "没给我", "被清零", "太苦", "太干", "太咸",
    "太吵", "烤焦", "糊了", "是硬的", "没熟", "怪味", "异味", "口红印", "排了", "再也不来", "糟糕",
    "差点摔", "没有位置",
)  # fmt: skip


def looks_like_complaint(text: str) -> bool:
    """Whether free text reads like a complaint (English or Chinese wording)."""
    return bool(_COMPLAINT_EN.search(text)) or any(word in text for word in _COMPLAINT_ZH)
