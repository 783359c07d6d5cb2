"""Telegram's parse modes: HTML, MarkdownV2 and legacy Markdown read into plain text + entities.

Modelled on the Bot API server's own parsers (tdlib ``MessageEntity.cpp``): the same tags and
markers, the same refusals (an unsupported tag, an unclosed entity, an unescaped reserved
character), offsets and lengths in UTF-16 code units. What the sandbox does not model: URL
validation of links and ``tg://user`` mentions (kept as ``text_link``).
"""

from __future__ import annotations

from sandbox.state import JSONDict, utf16_len

PARSE_MODES = ("html", "markdownv2", "markdown")
_HTML_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_MD2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MD2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_EMOJI_URL = "tg://emoji?id="


class EntityError(ValueError):
    """Markup Telegram refuses; the message is what follows "can't parse entities: "."""


def parse(text: str, parse_mode: str) -> tuple[str, list[JSONDict]]:
    """Return the plain text and its entities; EntityError on malformed markup."""
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise ValueError(f"unsupported parse_mode {parse_mode!r}")


class _Out:
    """The plain text being built, with its length in UTF-16 code units."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.entities: list[JSONDict] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)

    def entity(self, entity: JSONDict, offset: int) -> None:
        """Add an entity from ``offset`` to here; Telegram drops empty ones."""
        if self.length > offset:
            self.entities.append({**entity, "offset": offset, "length": self.length - offset})

    def result(self) -> tuple[str, list[JSONDict]]:
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), entities


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


# ---------------------------------------------------------------------------------------- HTML


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Parse ``parse_mode=HTML``."""
    out = _Out()
    stack: list[tuple[str, JSONDict | None, int]] = []  # (tag, entity, start offset)
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char == "&":
            decoded, i = _html_entity(text, i)
            out.add(decoded)
            continue
        if char != "<":
            end = i
            while end < size and text[end] not in "<&":
                end += 1
            out.add(text[i:end])
            i = end
            continue
        at = _byte_offset(text, i)
        if text.startswith("</", i):
            end = _tag_name_end(text, i + 2)
            name = text[i + 2 : end].lower()
            if end >= size or text[end] != ">":
                raise EntityError(f"Unclosed end tag at byte offset {at}")
            if not stack:
                raise EntityError(f"Unexpected end tag at byte offset {at}")
            tag, entity, start = stack.pop()
            if name and name != tag:
                raise EntityError(
                    f'Unmatched end tag at byte offset {at}, expected "</{tag}>", '
                    f'found "</{name}>"'
                )
            if entity is not None:
                out.entity(entity, start)
            i = end + 1
            continue
        end = _tag_name_end(text, i + 1)
        name = text[i + 1 : end].lower()
        if name not in _HTML_TAGS:
            raise EntityError(f'Unsupported start tag "{name}" at byte offset {at}')
        attributes, i = _html_attributes(text, end, name, at)
        stack.append((name, _html_tag_entity(name, attributes, at, stack), out.length))
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _tag_name_end(text: str, start: int) -> int:
    end = start
    while end < len(text) and text[end].isascii() and (text[end].isalnum() or text[end] == "-"):
        end += 1
    return end


def _html_entity(text: str, start: int) -> tuple[str, int]:
    """Decode ``&...;`` at ``start``; an unknown one stays a literal ``&``."""
    end = text.find(";", start + 1, start + 12)
    if end == -1:
        return "&", start + 1
    name = text[start + 1 : end]
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], end + 1
    digits, base = (name[2:], 16) if name[:2] in ("#x", "#X") else (name[1:], 10)
    if name.startswith("#") and digits:
        try:
            code = int(digits, base)
        except ValueError:
            return "&", start + 1
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), end + 1
    return "&", start + 1


def _html_attributes(text: str, start: int, tag: str, at: int) -> tuple[dict[str, str], int]:
    """Read the attributes of a start tag up to its ``>``; return them and the next index."""
    attributes: dict[str, str] = {}
    i, size = start, len(text)
    while True:
        while i < size and text[i] in " \t\r\n":
            i += 1
        if i >= size:
            raise EntityError(f"Unclosed start tag at byte offset {at}")
        if text[i] == ">":
            return attributes, i + 1
        end = _tag_name_end(text, i)
        if end == i:
            raise EntityError(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
        name = text[i:end].lower()
        i = end
        while i < size and text[i] in " \t\r\n":
            i += 1
        if i >= size or text[i] != "=":
            attributes[name] = ""
            continue
        i += 1
        while i < size and text[i] in " \t\r\n":
            i += 1
        if i < size and text[i] in "\"'":
            close = text.find(text[i], i + 1)
            if close == -1:
                raise EntityError(f"Unclosed start tag at byte offset {at}")
            raw, i = text[i + 1 : close], close + 1
        else:
            end = i
            while end < size and text[end] not in " \t\r\n>":
                end += 1
            raw, i = text[i:end], end
        attributes[name] = _html_unescape(raw)


def _html_unescape(raw: str) -> str:
    parts, i = [], 0
    while i < len(raw):
        if raw[i] == "&":
            decoded, i = _html_entity(raw, i)
            parts.append(decoded)
        else:
            parts.append(raw[i])
            i += 1
    return "".join(parts)


def _html_tag_entity(
    tag: str,
    attributes: dict[str, str],
    at: int,
    stack: list[tuple[str, JSONDict | None, int]],
) -> JSONDict | None:
    """The entity a start tag opens (None: the tag adds none of its own)."""
    kind = _HTML_TAGS[tag]
    if tag == "span" and attributes.get("class") != "tg-spoiler":
        raise EntityError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
    if tag == "a":
        url = attributes.get("href", "")
        return {"type": kind, "url": url} if url else None
    if tag == "tg-emoji":
        emoji_id = attributes.get("emoji-id", "")
        if not emoji_id.isdigit():
            raise EntityError(f'Custom emoji entity must have "emoji-id" attribute at {at}')
        return {"type": kind, "custom_emoji_id": emoji_id}
    if tag == "code" and stack and stack[-1][0] == "pre":
        language = attributes.get("class", "")
        parent = stack[-1][1]
        if language.startswith("language-") and parent is not None:
            parent["language"] = language.removeprefix("language-")
            return None
    if tag == "blockquote" and "expandable" in attributes:
        return {"type": "expandable_blockquote"}
    return {"type": kind}


# ---------------------------------------------------------------------------------- MarkdownV2


def parse_markdown_v2(text: str) -> tuple[str, list[JSONDict]]:
    """Parse ``parse_mode=MarkdownV2``."""
    out = _Out()
    stack: list[tuple[JSONDict, int, int]] = []  # (entity, start offset, byte offset)
    quote: tuple[JSONDict, int] | None = None  # the open blockquote and its start offset
    before_newline = 0  # the length before the last newline copied
    i, size = 0, len(text)

    def at(index: int) -> int:
        return _byte_offset(text, index)

    def reserved(char: str) -> EntityError:
        return EntityError(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )

    while i < size:
        char = text[i]
        in_code = bool(stack) and stack[-1][0]["type"] in ("code", "pre")
        if (i == 0 or text[i - 1] == "\n") and not in_code:
            if text.startswith("**>", i) or char == ">":
                if quote is None:
                    expandable = char == "*"
                    kind = "expandable_blockquote" if expandable else "blockquote"
                    quote = ({"type": kind}, out.length)
                i += 3 if char == "*" else 1
                continue
            if quote is not None:
                out.entities.append(
                    {**quote[0], "offset": quote[1], "length": before_newline - quote[1]}
                )
                quote = None
        if char == "\\" and i + 1 < size and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        if char not in ("`" if in_code else _MD2_RESERVED):
            if char == "\n":
                before_newline = out.length
            out.add(char)
            i += 1
            continue
        expandable = quote is not None and quote[0]["type"] == "expandable_blockquote"
        if expandable and not stack and text.startswith("||", i) and text[i + 2 : i + 3] in "\n":
            assert quote is not None
            out.entity(quote[0], quote[1])
            quote = None
            i += 2
            continue
        top = stack[-1][0]["type"] if stack else None
        ends = {
            "bold": char == "*",
            "italic": char == "_" and not text.startswith("__", i),
            "underline": text.startswith("__", i),
            "strikethrough": char == "~",
            "spoiler": text.startswith("||", i),
            "code": char == "`",
            "pre": text.startswith("```", i),
            "text_link": char == "]",
            "custom_emoji": char == "]",
        }
        if top is not None and ends[top]:
            entity, start, _ = stack.pop()
            i = _md2_close(text, i, entity, out)
            if entity["type"] == "text_link" and not entity.get("url"):
                continue
            out.entity(entity, start)
            continue
        begin = i
        if char == "_" and text.startswith("__", i):
            entity, i = {"type": "underline"}, i + 2
        elif char == "_":
            entity, i = {"type": "italic"}, i + 1
        elif char == "*":
            entity, i = {"type": "bold"}, i + 1
        elif char == "~":
            entity, i = {"type": "strikethrough"}, i + 1
        elif text.startswith("||", i):
            entity, i = {"type": "spoiler"}, i + 2
        elif char == "[":
            entity, i = {"type": "text_link"}, i + 1
        elif text.startswith("![", i):
            entity, i = {"type": "custom_emoji"}, i + 2
        elif text.startswith("```", i):
            entity, i = _md2_pre_start(text, i + 3)
        elif char == "`":
            entity, i = {"type": "code"}, i + 1
        else:
            raise reserved(char)
        stack.append((entity, out.length, at(begin)))
    if stack:
        entity, _, byte = stack[-1]
        name = _MD2_NAMES[entity["type"]]
        if entity["type"] == "pre" and "language" in entity:
            name = "PreCode"
        raise EntityError(f"Can't find end of {name} entity at byte offset {byte}")
    if quote is not None:
        out.entity(quote[0], quote[1])
    return out.result()


def _md2_pre_start(text: str, i: int) -> tuple[JSONDict, int]:
    """After an opening ```: read an optional language and skip one line break."""
    entity: JSONDict = {"type": "pre"}
    end = i
    while end < len(text) and not text[end].isspace() and text[end] != "`":
        end += 1
    if end != i and end < len(text) and text[end] != "`":
        entity["language"] = text[i:end]
        i = end
    if text.startswith(("\r\n", "\n\r"), i):
        i += 2
    elif text[i : i + 1] in ("\n", "\r"):
        i += 1
    return entity, i


def _md2_close(text: str, i: int, entity: JSONDict, out: _Out) -> int:
    """Consume the closing marker at ``i`` (and a link's URL); return the next index."""
    kind = entity["type"]
    if kind in ("underline", "spoiler"):
        return i + 2
    if kind == "pre":
        return i + 3
    if kind not in ("text_link", "custom_emoji"):
        return i + 1
    if not text.startswith("(", i + 1):
        if kind == "custom_emoji":
            raise EntityError("Custom emoji entity must contain a tg://emoji URL")
        return i + 1  # [text] without (url): Telegram uses no link
    url_start, i = i + 2, i + 2
    url: list[str] = []
    while i < len(text) and text[i] != ")":
        if text[i] == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) <= 126:
            url.append(text[i + 1])
            i += 2
            continue
        url.append(text[i])
        i += 1
    if i >= len(text):
        raise EntityError(
            f"Can't find end of a URL at byte offset {_byte_offset(text, url_start)}"
        )
    link = "".join(url)
    if kind == "custom_emoji":
        if not link.startswith(_EMOJI_URL) or not link.removeprefix(_EMOJI_URL).isdigit():
            raise EntityError("Custom emoji entity must contain a tg://emoji URL")
        entity["custom_emoji_id"] = link.removeprefix(_EMOJI_URL)
    else:
        entity["url"] = link
    return i + 1


# ---------------------------------------------------------------------------- legacy Markdown


def parse_markdown(text: str) -> tuple[str, list[JSONDict]]:
    """Parse the legacy ``parse_mode=Markdown`` (no nesting; ``\\`` escapes ``_*`[``)."""
    out = _Out()
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char == "\\" and i + 1 < size and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        begin = _byte_offset(text, i)
        entity: JSONDict
        if text.startswith("```", i):
            entity, close, i = {"type": "pre"}, "```", i + 3
            newline = text.find("\n", i)
            language = text[i:newline] if newline != -1 else ""
            if language and " " not in language and "`" not in language:
                entity["language"], i = language, newline + 1
        else:
            kinds = {"_": "italic", "*": "bold", "`": "code", "[": "text_link"}
            entity, close, i = {"type": kinds[char]}, "]" if char == "[" else char, i + 1
        end = text.find(close, i)
        if end == -1:
            raise EntityError(f"Can't find end of the entity starting at byte offset {begin}")
        start = out.length
        out.add(text[i:end])
        i = end + len(close)
        if entity["type"] == "text_link":
            if not text.startswith("(", i) or text.find(")", i) == -1:
                continue
            entity["url"], i = text[i + 1 : text.find(")", i)], text.find(")", i) + 1
        out.entity(entity, start)
    return out.result()
